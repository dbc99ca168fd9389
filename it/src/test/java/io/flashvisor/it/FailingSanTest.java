package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A failing SAN loses nothing (I1, I6): the backing store is {@code nbdkit --filter=error file
 * SAN.img error=EIO error-pwrite-rate=5%}, so about one destage write in twenty fails. fio writes
 * random blocks (4 KiB and 4–64 KiB, scattered over the volume, as a VM does) to a write-back volume
 * and reads them back verified; the volume is drained until clean, which takes the destager's
 * retries; then the SAN image, served by a plain {@code nbdkit file} with no error filter, passes
 * the same verification: nothing lost, nothing stale.
 */
@Timeout(240)
class FailingSanTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final long MiB = 1 << 20;

    @AfterEach
    void stopFioFirst() {
        CrashChecker.killWriters();
    }

    /** 12 MiB written per job, scattered over 64 MiB (4 KiB) and 60 MiB (4–64 KiB): many small destage runs. */
    private static final List<String> JOBS = List.of(
            "--name=rand4k", "--offset=0", "--size=64M", "--io_size=12M", "--rw=randwrite", "--bs=4k",
            "--name=randmix", "--offset=64M", "--size=60M", "--io_size=12M", "--rw=randwrite", "--bsrange=4k-64k");

    @Test
    void fivePercentWriteErrorsOnTheSanLoseNothing() throws Exception {
        Path san = kit.file("san.img");
        Tools.sparseFile(san, 128 * MiB);
        Nbdkit failing = kit.nbdkit("--filter=error", "file", san.toString(), "error=EIO", "error-pwrite-rate=5%");
        Path ctl = kit.file("ctl.sock");
        // No sequential bypass: every write goes to flash, so the SAN's errors can only meet the destager
        // (a write-around write to a failing SAN would rightly return EIO to fio).
        FlashvisorProcess node = kit.serve(failing.uri(), "--name", "vol", "--socket", kit.file("vol.sock").toString(), "--cache",
                kit.file("flash.img").toString(), "--cache-size", "128M", "--policy", "write-back", "--control", ctl.toString(),
                "--sequential-cutoff", "0");
        Control control = new Control(ctl);

        JsonNode drained;
        Control.Sampler sampler = control.sample("vol", Duration.ofMillis(10));
        try (sampler) {
            Path json = kit.file("fio.json");
            Tools.Result r = Fio.run(kit, "fio", Fio.jobs(json,
                    List.of("--thread", "--ioengine=nbd", "--uri=" + node.uri(), "--iodepth=16", "--verify=crc32c", "--do_verify=1",
                            "--verify_fatal=1", "--group_reporting=0"), JOBS), Duration.ofSeconds(120));
            Fio.assertVerified(r, json, 12 * MiB);
            drained = control.drain("vol", Duration.ofSeconds(60));
        }
        String nbdkitLog = failing.output();
        long injected = nbdkitLog.lines().filter(l -> l.contains("injecting EIO error into pwrite")).count();
        long logged = node.stderr().lines().filter(l -> l.contains("destage of volume vol failed")).count();
        System.out.println("failing SAN: " + injected + " pwrite errors injected; " + logged + " destage failures logged; " + sampler
                + "\ndrain: " + Control.summary(drained.path("volume")));

        assertThat(injected).as("the error filter failed some destage writes\n" + nbdkitLog).isPositive();
        assertThat(logged).as("the node reported the failed destage batches (and retried them)\n" + node.stderr()).isPositive();
        if (sampler.healths().contains("destage-failing")) {
            assertThat(sampler.errors()).as("a failing destage names its error\n" + sampler).anyMatch(e -> e.contains("EIO"));
        }
        assertThat(drained.path("clean").asBoolean()).as("the volume drains clean despite 5% write errors on the SAN (the"
                + " destager retries failed batches)\n" + Control.summary(drained.path("volume")) + "\n" + sampler).isTrue();
        JsonNode v = control.volume("vol");
        assertThat(v.path("dirtyBytes").asLong()).as(Control.summary(v)).isZero();
        assertThat(v.path("health").asText()).as(Control.summary(v)).isEqualTo("ok");
        assertThat(node.stop(Duration.ofSeconds(40))).isZero();
        failing.stop();

        verifySanImage(san);
        Files.delete(san);
    }

    /** The SAN image itself, through nbdkit without filters: every block fio wrote reads back verified. */
    private void verifySanImage(Path san) {
        Nbdkit plain = kit.nbdkit("file", san.toString());
        Path json = kit.file("fio-san.json");
        Tools.Result r = Fio.run(kit, "fio", Fio.jobs(json,
                List.of("--thread", "--ioengine=nbd", "--uri=" + plain.uri(), "--iodepth=16", "--verify=crc32c", "--verify_only",
                        "--verify_fatal=1", "--group_reporting=0"), JOBS), Duration.ofSeconds(120));
        Fio.assertVerified(r, json, 12 * MiB);
        plain.stop();
    }

    /**
     * The SAN restarts in the middle of a run (nbdkit killed — connections cut mid-request — and
     * started again 3 s later over the same image): the write-back volume keeps taking writes on
     * flash, its NBD backing store connects again by itself, the destager writes what failed again,
     * and the volume drains clean; the SAN image then verifies. Before, the volume's backing store
     * stayed broken until the node restarted.
     */
    @Test
    void theSanRestartsMidRunAndTheVolumeCarriesOn() throws Exception {
        Path san = kit.file("san.img");
        Tools.sparseFile(san, 128 * MiB);
        Nbdkit slowSan = kit.slowSan(san, "wdelay=2ms");
        Path ctl = kit.file("ctl.sock");
        FlashvisorProcess node = kit.serve(slowSan.uri(), "--name", "vol", "--socket", kit.file("vol.sock").toString(), "--cache",
                kit.file("flash.img").toString(), "--cache-size", "128M", "--policy", "write-back", "--control", ctl.toString(),
                "--sequential-cutoff", "0");
        Control control = new Control(ctl);

        Path json = kit.file("fio.json");
        java.util.concurrent.CompletableFuture<Tools.Result> fio = java.util.concurrent.CompletableFuture.supplyAsync(() -> Fio.run(kit, "fio",
                Fio.jobs(json, List.of("--thread", "--ioengine=nbd", "--uri=" + node.uri(), "--iodepth=16", "--verify=crc32c",
                        "--do_verify=1", "--verify_fatal=1", "--group_reporting=0", "--rate_iops=500"), JOBS), Duration.ofSeconds(120)));
        Thread.sleep(1500);
        slowSan.down();
        Thread.sleep(3000);
        JsonNode during = control.volume("vol");
        slowSan.up();
        Fio.assertVerified(fio.get(), json, 12 * MiB);
        JsonNode drained = control.drain("vol", Duration.ofSeconds(60));
        System.out.println("SAN restart: during the outage " + Control.summary(during) + "; after: " + Control.summary(drained.path("volume")));

        assertThat(during.path("health").asText()).as("the outage shows: " + Control.summary(during)).isEqualTo("destage-failing");
        assertThat(drained.path("clean").asBoolean()).as(Control.summary(drained.path("volume"))).isTrue();
        assertThat(node.stderr()).as("the backing store connected again by itself\n" + node.stderr())
                .contains("backing store nbd+unix").contains("connected again (reconnect 1");
        assertThat(control.volume("vol").path("health").asText()).isEqualTo("ok");
        assertThat(node.stop(Duration.ofSeconds(40))).isZero();
        slowSan.stop();
        verifySanImage(san);
    }
}
