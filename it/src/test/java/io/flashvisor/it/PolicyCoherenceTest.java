package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Read-your-writes and coherence with the backing store for every policy (I2, I3), with qemu-io
 * patterns through one {@code flashvisor node --config} whose {@code flash:} device is shared by four
 * volumes — {@code write-through}, {@code write-around}, {@code pass-through}, {@code write-back} —
 * each backed by an image that {@code nbdkit file dir=} serves (it supports TRIM, punching holes).
 *
 * <p>Per volume: a write reads back through the node and (except write-back, until drained) from
 * the image directly; write-through populates flash on write, write-around and pass-through do not;
 * reads populate write-through and write-around, never pass-through; overwriting, unaligned writes,
 * WRITE_ZEROES and TRIM over cached blocks never leave a stale copy: zeroes and discarded ranges
 * read back as zeroes through the node (except TRIM of write-back dirty data, which the node may
 * ignore: TRIM is advisory). Finally the whole export, copied out with nbdcopy, equals the image.
 */
@Timeout(180)
class PolicyCoherenceTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final int KiB = 1024;
    private static final int MiB = 1 << 20;
    private static final long SIZE = 8 * MiB;

    @Test
    void everyPolicyReadsItsWritesAndMatchesTheBackingStore() throws Exception {
        Path disks = kit.file("disks");
        Files.createDirectories(disks);
        String[] names = {"wt", "wa", "pt", "wb"};
        for (String n : names) {
            Tools.sparseFile(disks.resolve(n + ".img"), SIZE);
        }
        Nbdkit san = kit.nbdkit("file", "dir=" + disks);
        Path ctl = kit.file("ctl.sock");
        FlashvisorProcess node = kit.node("""
                listeners:
                  - unix: %s
                control: %s
                flash:
                  device: %s
                  size: 64M
                  sequential-cutoff: 0
                volumes:
                  - name: wt
                    backing: %s
                    policy: write-through
                  - name: wa
                    backing: %s
                    policy: write-around
                  - name: pt
                    backing: %s
                    policy: pass-through
                  - name: wb
                    backing: %s
                    policy: write-back
                """.formatted(kit.file("nbd.sock"), ctl, kit.file("flash.img"), san.uri("wt.img"), san.uri("wa.img"), san.uri("pt.img"),
                san.uri("wb.img")), 1);
        Control control = new Control(ctl);

        for (String name : names) {
            String uri = FlashvisorProcess.withExport(node.uri(), name);
            Path img = disks.resolve(name + ".img");
            boolean writeBack = name.equals("wb");
            assertThat(Tools.nbdinfoJson(uri).path("exports").get(0).path("can_trim").asBoolean()).as(name + " advertises TRIM").isTrue();

            // Write, read back through the node; the image holds it (write-back: after the drain).
            QemuIoTest.io(uri, "write -P 0xaa 0 1M");
            JsonNode v = control.volume(name);
            switch (name) {
                case "wt", "wb" -> assertThat(v.path("cachedBytes").asLong()).as("populated on write: " + Control.summary(v))
                        .isGreaterThanOrEqualTo(MiB);
                default -> assertThat(v.path("cachedBytes").asLong()).as("not populated on write: " + Control.summary(v)).isZero();
            }
            if (!writeBack) {
                assertBytes(img, 0, MiB, 0xaa);
            }
            QemuIoTest.io(uri, "read -P 0xaa 0 1M");
            v = control.volume(name);

            // Reads populate write-around (so a second read hits) and never pass-through.
            long hits0 = v.path("hits").asLong();
            QemuIoTest.io(uri, "read -P 0xaa 0 1M");
            v = control.volume(name);
            long hits = v.path("hits").asLong() - hits0;
            if (name.equals("pt")) {
                assertThat(v.path("cachedBytes").asLong()).as("pass-through caches nothing: " + Control.summary(v)).isZero();
                assertThat(hits).as("pass-through never hits: " + Control.summary(v)).isZero();
            } else {
                assertThat(v.path("cachedBytes").asLong()).as("cached after reads: " + Control.summary(v)).isGreaterThanOrEqualTo(MiB);
                assertThat(hits).as("the second read hits (4 KiB blocks): " + Control.summary(v)).isGreaterThanOrEqualTo(256);
            }

            // Over cached blocks: overwrite, unaligned write, write-zeroes, discard — no stale copy is served.
            QemuIoTest.io(uri, "write -P 0xbb 256k 256k", "write -P 0xcc 1000 3000", "write -z 512k 128k");
            QemuIoTest.io(uri, "read -P 0xaa 0 1000", "read -P 0xcc 1000 3000", "read -P 0xaa 4000 " + (256 * KiB - 4000),
                    "read -P 0xbb 256k 256k", "read -P 0 512k 128k", "read -P 0xaa 640k 384k");
            QemuIoTest.io(uri, "discard 768k 128k");
            Tools.Result afterTrim = QemuIoTest.io(uri, "read -P 0xaa 640k 128k", "read -P 0xaa 896k 128k", "read 768k 128k");
            if (!writeBack) {
                QemuIoTest.io(uri, "read -P 0 768k 128k");
            }
            // A write after the discard, then everything once more.
            QemuIoTest.io(uri, "write -P 0xdd 800k 8k", "read -P 0xdd 800k 8k");
            assertThat(afterTrim.exitCode()).isZero();

            if (writeBack) {
                JsonNode drained = control.drain(name, Duration.ofSeconds(60));
                assertThat(drained.path("clean").asBoolean()).as("drained: " + drained).isTrue();
            }
            // The image directly, and the whole export through the node, agree byte for byte.
            byte[] onImage = Files.readAllBytes(img);
            Path copy = kit.file(name + "-copy.img");
            Tools.run(Tools.SHORT, "nbdcopy", uri, copy.toString()).ok();
            byte[] throughNode = Files.readAllBytes(copy);
            assertThat(Arrays.mismatch(onImage, throughNode)).as(name + ": first byte where the node and the image differ").isEqualTo(-1);
            assertRange(onImage, name, 0, 1000, 0xaa);
            assertRange(onImage, name, 1000, 3000, 0xcc);
            assertRange(onImage, name, 4000, 256 * KiB - 4000, 0xaa);
            assertRange(onImage, name, 256 * KiB, 256 * KiB, 0xbb);
            assertRange(onImage, name, 512 * KiB, 128 * KiB, 0);
            assertRange(onImage, name, 640 * KiB, 128 * KiB, 0xaa);
            assertRange(onImage, name, 800 * KiB, 8 * KiB, 0xdd);
            assertRange(onImage, name, 896 * KiB, 128 * KiB, 0xaa);
            if (!writeBack) {
                assertRange(onImage, name, 768 * KiB, 32 * KiB, 0);
                assertRange(onImage, name, 808 * KiB, 88 * KiB, 0);
            }
            assertRange(onImage, name, MiB, (int) (SIZE - MiB), 0);
            Files.delete(copy);
        }
        JsonNode status = control.status();
        assertThat(status.path("volumes")).allSatisfy(v -> assertThat(v.path("health").asText()).isEqualTo("ok"));
        assertThat(node.stop(Duration.ofSeconds(40))).isZero();
    }

    private static void assertBytes(Path file, long offset, int length, int value) throws Exception {
        assertRange(Tools.readRange(file, offset, length), file.getFileName().toString(), 0, length, value);
    }

    private static void assertRange(byte[] data, String what, int offset, int length, int value) {
        for (int i = offset; i < offset + length; i++) {
            if (data[i] != (byte) value) {
                throw new AssertionError(what + ": byte " + i + " is 0x" + Integer.toHexString(data[i] & 0xff) + ", expected 0x"
                        + Integer.toHexString(value) + " in [" + offset + ", +" + length + ")");
            }
        }
    }
}
