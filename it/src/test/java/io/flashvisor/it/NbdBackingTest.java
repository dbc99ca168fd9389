package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A remote NBD export as the backing store: nbdkit stands in for the SAN. */
@Timeout(180)
class NbdBackingTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final long MiB = 1 << 20;

    @Test
    void writesGoThroughToNbdkitAndBack() throws Exception {
        Nbdkit san = kit.nbdkit("memory", "size=64M");
        FlashvisorProcess fv = kit.serve(san.uri(), "--socket", kit.file("fv.sock").toString(), "--name", "chained");
        String uri = fv.uri();
        assertThat(uri).startsWith("nbd+unix:///chained?socket=");

        JsonNode e = NbdInfoTest.single(Tools.nbdinfoJson(uri));
        assertThat(e.path("export-size").asLong()).isEqualTo(64 * MiB);
        assertThat(e.path("is_read_only").asBoolean()).isFalse();

        // Through flashvisor ...
        QemuIoTest.io(uri, "write -P 0xa1 0 1M", "write -P 0xa2 5000 12345", "write -P 0xa3 63M 1M", "write -z 32M 2M",
                "write -f -P 0xa4 40M 64k", "flush");
        // ... lands in nbdkit.
        QemuIoTest.io(san.uri(), "read -P 0xa1 0 5000", "read -P 0xa2 5000 12345", "read -P 0xa1 17345 " + (MiB - 17345),
                "read -P 0xa3 63M 1M", "read -P 0 32M 2M", "read -P 0xa4 40M 64k", "read -P 0 1M 1M");

        // Written directly to nbdkit, read through flashvisor (pass-through: nothing stale cached).
        QemuIoTest.io(san.uri(), "write -P 0xb1 1M 1M", "write -P 0xb2 40M 4k");
        QemuIoTest.io(uri, "read -P 0xb1 1M 1M", "read -P 0xb2 40M 4k", "read -P 0xa4 " + (40 * MiB + 4096) + " " + (64 * 1024 - 4096));

        // A whole image copied in through flashvisor compares equal to nbdkit's copy.
        Path src = kit.file("src.img");
        Tools.randomFile(src, 64 * MiB, 7);
        Tools.run(Duration.ofSeconds(120), "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src.toString(), uri).ok();
        Tools.run(Duration.ofSeconds(120), "qemu-img", "compare", "-f", "raw", "-F", "raw", src.toString(), san.uri()).ok();

        assertThat(fv.stop(Duration.ofSeconds(40))).isZero();
    }

    @Test
    void backingStoreErrorsReachTheClientAndTheServerSurvives() throws Exception {
        Path trigger = kit.file("fail-now");
        Nbdkit san = kit.nbdkit("--filter=error", "memory", "size=16M", "error=EIO", "error-rate=100%", "error-file=" + trigger);
        FlashvisorProcess fv = kit.serve(san.uri(), "--socket", kit.file("fv.sock").toString(), "--name", "flaky");
        String uri = fv.uri();
        QemuIoTest.io(uri, "write -P 0x61 0 1M", "read -P 0x61 0 1M");

        // The SAN fails every request: the client gets errors, not hangs, not garbage.
        Files.createFile(trigger);
        Tools.Result failedRead = Tools.qemuIo(uri, "read -P 0x61 0 64k");
        assertThat(failedRead.output()).as(failedRead.toString()).contains("Input/output error");
        Tools.Result failedWrite = Tools.qemuIo(uri, "write -P 0x62 1M 64k");
        assertThat(failedWrite.output()).as(failedWrite.toString()).contains("Input/output error");
        assertThat(fv.isAlive()).as("flashvisor survives a failing backing store").isTrue();

        // The SAN recovers: so does the export, with the data that was acknowledged.
        Files.delete(trigger);
        QemuIoTest.io(uri, "read -P 0x61 0 1M", "write -P 0x63 2M 1M", "read -P 0x63 2M 1M");
        assertThat(Tools.nbdinfoJson(uri).path("exports").get(0).path("export-size").asLong()).isEqualTo(16 * MiB);

        // The SAN goes away entirely: errors again, and a graceful stop still works.
        san.stop();
        Tools.Result gone = Tools.qemuIo(uri, "read 0 64k");
        assertThat(gone.exitCode() != 0 || gone.output().contains("error")).as(gone.toString()).isTrue();
        assertThat(fv.isAlive()).as("flashvisor survives losing its backing store").isTrue();
        assertThat(fv.stop(Duration.ofSeconds(40))).isZero();
    }
}
