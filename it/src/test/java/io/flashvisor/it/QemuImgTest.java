package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** qemu-img copies a whole image in and out of a served export, bit for bit. */
@Timeout(180)
class QemuImgTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final long MiB = 1 << 20;
    private static final Duration T = Duration.ofSeconds(120);

    @Test
    void convertInAndOutThenCompare() throws Exception {
        long size = 48 * MiB;
        // Source: random data with a 4 MiB run of zeroes in the middle (qemu-img turns it into
        // write-zeroes requests) and an unaligned tail pattern.
        Path src = kit.file("src.img");
        Tools.randomFile(src, size, 42);
        try (RandomAccessFile raf = new RandomAccessFile(src.toFile(), "rw")) {
            raf.seek(20 * MiB);
            raf.write(new byte[(int) (4 * MiB)]);
            raf.seek(size - 1000);
            raf.write(new byte[] {1, 2, 3, 4, 5});
        }
        // Target: the same size, full of 0xff, so that skipped or lost writes (zeroes included) show.
        Path target = kit.file("target.img");
        Tools.filledFile(target, size, 0xff);
        Path sock = kit.file("t.sock");
        FlashvisorProcess fv = kit.serve(target.toString(), "--socket", sock.toString(), "--name", "vm");
        String uri = fv.uri();

        Tools.run(T, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src.toString(), uri).ok();

        // Out again, through the server.
        Path out = kit.file("out.img");
        Tools.run(T, "qemu-img", "convert", "-f", "raw", "-O", "raw", uri, out.toString()).ok();

        // Compare both ways, and against the export itself.
        Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", src.toString(), out.toString()).ok();
        Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", out.toString(), src.toString()).ok();
        Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", src.toString(), uri).ok();
        Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", uri, src.toString()).ok();

        // The backing file itself holds the data (pass-through).
        assertThat(Files.mismatch(src, target)).as("first differing byte between source and backing file").isEqualTo(-1L);

        // The comparison can fail: change one byte of the export and qemu-img compare must notice (exit 1).
        Tools.qemuIo(uri, "write -P 0x77 " + (33 * MiB + 4096) + " 512").ok();
        Tools.Result diff = Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", src.toString(), uri).exit(1);
        assertThat(diff.stdout()).contains("Content mismatch at offset " + (33 * MiB + 4096));

        assertThat(fv.stop(Duration.ofSeconds(40))).as("exit code after SIGTERM").isZero();
        byte[] changed = Tools.readRange(target, 33 * MiB + 4096, 512);
        for (byte b : changed) {
            assertThat(b).isEqualTo((byte) 0x77);
        }
    }

    @Test
    void qemuImgInfoAndMap() throws Exception {
        Path img = kit.file("info.img");
        Tools.sparseFile(img, 64 * MiB);
        FlashvisorProcess fv = kit.serve(img.toString(), "--socket", kit.file("i.sock").toString());
        Tools.Result info = Tools.run(T, "qemu-img", "info", "--output=json", fv.uri()).ok();
        assertThat(info.json().path("virtual-size").asLong()).isEqualTo(64 * MiB);

        // Data written through the export shows up as data in the allocation map (if the server
        // reports holes at all, the written range must not be one).
        Tools.qemuIo(fv.uri(), "write -P 0x5a 8M 1M").ok();
        Tools.Result map = Tools.run(T, "qemu-img", "map", "--output=json", "-f", "raw", fv.uri()).ok();
        long covered = 0;
        for (var m : Tools.JSON.readTree(map.stdout())) {
            long start = m.path("start").asLong();
            long len = m.path("length").asLong();
            covered += len;
            if (start < 9 * MiB && start + len > 8 * MiB) {
                assertThat(m.path("data").asBoolean()).as("written range reported as data: " + m).isTrue();
                assertThat(m.path("zero").asBoolean()).as("written range not reported as zero: " + m).isFalse();
            }
        }
        assertThat(covered).as("map covers the whole export").isEqualTo(64 * MiB);
    }
}
