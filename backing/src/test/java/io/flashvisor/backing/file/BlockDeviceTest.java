package io.flashvisor.backing.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link FileBackingStore} on a real block device: a loop device over a file. Needs root and
 * {@code losetup}; skipped otherwise. Checks that the size of a block device is found (fstat says 0).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BlockDeviceTest {

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        return p.waitFor() == 0 ? out : null;
    }

    @Test
    void loopDeviceSizeAndIoWithAndWithoutDirect() throws Exception {
        Path dir = Files.createDirectories(Path.of("target", "block-device-test"));
        Path image = dir.resolve("loop.img");
        Files.deleteIfExists(image);
        Files.write(image, new byte[4 << 20]);
        String dev = run("losetup", "-f", "--show", image.toAbsolutePath().toString());
        assumeThat(dev).as("losetup works (root, loop devices)").isNotNull().startsWith("/dev/loop");
        try {
            byte[] data = new byte[10_000];
            new Random(3).nextBytes(data);
            for (boolean direct : new boolean[] {false, true}) {
                try (FileBackingStore store = FileBackingStore.open(Path.of(dev), false, direct, true)) {
                    assertThat(store.size()).isEqualTo(4 << 20);
                    store.write(direct ? 777 : 12345, ByteBuffer.wrap(data), true);
                    ByteBuffer back = ByteBuffer.allocate(data.length);
                    store.read(direct ? 777 : 12345, back);
                    assertThat(back.array()).isEqualTo(data);
                }
            }
        } finally {
            run("losetup", "-d", dev);
            Files.deleteIfExists(image);
        }
    }
}
