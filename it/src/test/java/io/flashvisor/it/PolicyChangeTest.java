package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Changing a volume's policy online: while fio writes and verifies on a write-back volume (over a
 * slow SAN, so data is dirty), {@code flashvisor policy --control CTL vol write-through --wait 60}
 * switches it; the volume drains (status: draining, then ok, dirty 0); fio's connections never
 * notice (zero errors, every block verified); the backing image, read directly, holds everything.
 */
@Timeout(240)
class PolicyChangeTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final long MiB = 1 << 20;

    private static final List<String> JOBS = List.of(
            "--name=rand4k", "--offset=0", "--size=16M", "--rw=randwrite", "--bs=4k",
            "--name=randmix", "--offset=32M", "--size=16M", "--rw=randwrite", "--bsrange=4k-64k");

    @AfterEach
    void stopFioFirst() {
        CrashChecker.killWriters();
    }

    @Test
    void writeBackToWriteThroughWhileFioVerifies() throws Exception {
        Path san = kit.file("san.img");
        Tools.sparseFile(san, 64 * MiB);
        Nbdkit slowSan = kit.slowSan(san, "wdelay=2ms");
        Path ctl = kit.file("ctl.sock");
        FlashvisorProcess node = kit.serve(slowSan.uri(), "--name", "vol", "--socket", kit.file("vol.sock").toString(), "--cache",
                kit.file("flash.img").toString(), "--cache-size", "64M", "--policy", "write-back", "--control", ctl.toString());
        Control control = new Control(ctl);

        Path json = kit.file("fio.json");
        // 4 MiB/s per job: the writes take 4 s, the switch comes in the middle; then fio reads everything back.
        List<String> cmd = Fio.jobs(json, List.of("--thread", "--ioengine=nbd", "--uri=" + node.uri(), "--iodepth=16",
                "--verify=crc32c", "--do_verify=1", "--verify_fatal=1", "--rate=,4m", "--group_reporting=0"), JOBS);
        Tools.Background fio = kit.background("fio", cmd);
        CrashChecker.track(fio.process());

        Control.Sampler sampler = control.sample("vol", Duration.ofMillis(20));
        FlashvisorProcess policy;
        JsonNode before;
        try (sampler) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (control.volume("vol").path("dirtyBytes").asLong() < 2 * MiB && System.nanoTime() < deadline && fio.isAlive()) {
                Thread.sleep(50);
            }
            before = control.volume("vol");
            assertThat(fio.isAlive()).as("fio still writing at the switch\n" + fio.output()).isTrue();
            assertThat(before.path("dirtyBytes").asLong()).as("dirty data at the switch\n" + Control.summary(before)).isGreaterThan(0);

            policy = kit.flashvisor("flashvisor policy", "policy", "--control", ctl.toString(), "vol", "write-through", "--wait", "60");
            assertThat(policy.awaitExit(Duration.ofSeconds(90))).as(policy.output()).isZero();

            Tools.Result done = fio.await(Duration.ofSeconds(120));
            Fio.assertVerified(done, json, 16 * MiB);
            Thread.sleep(100); // one more sample after the end
        }
        System.out.println("policy change: before " + Control.summary(before) + "\n" + policy.stdout() + sampler);
        assertThat(policy.stdout()).as(policy.output()).contains("vol: policy write-through, health draining").contains("vol: clean");
        List<String> transitions = sampler.transitions();
        int draining = indexOf(transitions, "draining/write-through");
        int ok = lastIndexOf(transitions, "ok/write-through");
        assertThat(draining).as("status showed draining\n" + sampler).isNotNegative();
        assertThat(ok).as("then ok\n" + sampler).isGreaterThan(draining);

        JsonNode after = control.volume("vol");
        assertThat(after.path("policy").asText()).isEqualTo("write-through");
        assertThat(after.path("health").asText()).as(Control.summary(after)).isEqualTo("ok");
        assertThat(after.path("dirtyBytes").asLong()).as(Control.summary(after)).isZero();

        // The status command, as an operator runs it.
        FlashvisorProcess status = kit.flashvisor("flashvisor status", "status", "--control", ctl.toString());
        assertThat(status.awaitExit(Duration.ofSeconds(60))).as(status.output()).isZero();
        assertThat(status.stdout()).as(status.output()).containsPattern("vol\\s+write-through\\s+ok");

        assertThat(node.stop(Duration.ofSeconds(40))).isZero();
        slowSan.stop();
        Path direct = kit.file("fio-direct.json");
        Tools.Result r = Fio.run(kit, "fio", Fio.jobs(direct, List.of("--thread", "--ioengine=psync", "--filename=" + san,
                "--verify=crc32c", "--verify_only", "--verify_fatal=1", "--group_reporting=0"), JOBS), Duration.ofSeconds(120));
        Fio.assertVerified(r, direct, 16 * MiB);
    }

    private static int indexOf(List<String> transitions, String prefix) {
        for (int i = 0; i < transitions.size(); i++) {
            if (transitions.get(i).startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }

    private static int lastIndexOf(List<String> transitions, String prefix) {
        for (int i = transitions.size() - 1; i >= 0; i--) {
            if (transitions.get(i).startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }
}
