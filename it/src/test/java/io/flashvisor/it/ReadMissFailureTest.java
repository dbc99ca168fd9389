package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A read miss that fails on the backing store (I6): the client gets EIO — qemu-io's "Input/output
 * error", libnbd's {@code errno EIO} — on that request only; the same connection and new ones keep
 * being served (cached blocks from flash meanwhile), and once the SAN reads again the block reads
 * correctly: the failed miss left nothing wrong in flash.
 */
@Timeout(180)
class ReadMissFailureTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final long MiB = 1 << 20;

    @Test
    void failedMissIsEioAndTheNodeKeepsServing() throws Exception {
        Path img = kit.file("san.img");
        Tools.filledFile(img, 16 * MiB, 0x5a);
        Path failReads = kit.file("fail-reads");
        Nbdkit san = kit.nbdkit("--filter=error", "file", img.toString(), "error-pread=EIO", "error-pread-rate=100%",
                "error-pread-file=" + failReads);
        Path ctl = kit.file("ctl.sock");
        FlashvisorProcess node = kit.serve(san.uri(), "--name", "vol", "--socket", kit.file("vol.sock").toString(), "--cache",
                kit.file("flash.img").toString(), "--cache-size", "64M", "--policy", "write-back", "--control", ctl.toString());
        String uri = node.uri();
        Control control = new Control(ctl);

        // Healthy SAN: the first MiB is read (a miss) and admitted to flash.
        QemuIoTest.io(uri, "read -P 0x5a 0 1M");
        long cached = control.volume("vol").path("cachedBytes").asLong();
        assertThat(cached).as("read misses admitted to flash").isGreaterThanOrEqualTo(MiB);

        // Every SAN read fails from now on.
        Files.writeString(failReads, "");
        Tools.Result failed = Tools.qemuIo(uri, "read -P 0x5a 4M 64k");
        assertThat(failed.output()).as(failed.toString()).contains("Input/output error").doesNotContain("Pattern verification failed");
        assertThat(node.isAlive()).as("the node survives a failing read miss").isTrue();

        // libnbd on one connection: EIO for the miss, then a hit, then the miss again — same connection.
        Tools.Result nbdsh = Tools.nbdsh("""
                import errno, os, nbd
                h = nbd.NBD()
                h.connect_uri(os.environ["URI"])
                for attempt in range(2):
                    try:
                        h.pread(65536, 8 * 1024 * 1024)
                        raise SystemExit("a read miss on a failing SAN succeeded")
                    except nbd.Error as e:
                        if e.errno not in (errno.EIO, "EIO"):  # libnbd's Error carries the errno's name
                            raise SystemExit("expected EIO, got errno %s: %s" % (e.errno, e))
                        print("EIO ok:", e.string)
                    buf = h.pread(65536, 0)
                    assert buf == b"\\x5a" * 65536, "a cached block is not served while the SAN fails"
                    print("HIT OK")
                h.shutdown()
                print("ALL OK")
                """, Map.of("URI", uri)).ok();
        assertThat(nbdsh.stdout()).contains("EIO ok", "HIT OK", "ALL OK");

        // Another client, another request: served.
        QemuIoTest.io(uri, "read -P 0x5a 0 512k");
        assertThat(Tools.nbdinfoJson(uri).path("exports").get(0).path("export-size").asLong()).isEqualTo(16 * MiB);

        // The SAN reads again: the blocks whose misses failed read correctly (nothing bogus was cached).
        Files.delete(failReads);
        QemuIoTest.io(uri, "read -P 0x5a 4M 64k", "read -P 0x5a 8M 64k", "read -P 0x5a 0 16M");
        JsonNode v = control.volume("vol");
        assertThat(v.path("health").asText()).as(Control.summary(v)).isEqualTo("ok");
        assertThat(node.isAlive()).isTrue();
        assertThat(node.stop(java.time.Duration.ofSeconds(40))).isZero();
    }
}
