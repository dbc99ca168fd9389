package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.destage.DestageSettings;
import io.flashvisor.node.Policy;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many clients at once on one cached volume — each on its own region, so each keeps an exact
 * model — while another thread flips the policy and flushes, the destager drains and the cleaner
 * reclaims a small flash device. Every read matches its client's model; at the end the backing
 * store alone holds every write.
 */
class CachedVolumeConcurrencyTest {
    static final int CLIENTS = 4;
    static final int REGION_BLOCKS = 2048; // 8 MiB each: overwrites make the cleaner work on 64 MiB of flash

    @TempDir
    Path dir;

    @Test
    void concurrentClientsPolicyFlipsAndTheCleanerLoseNothing() throws Exception {
        int size = CLIENTS * REGION_BLOCKS * 4096;
        MemoryBacking backing = new MemoryBacking(size);
        byte[][] models = new byte[CLIENTS][REGION_BLOCKS * 4096];
        AtomicBoolean done = new AtomicBoolean();
        try (FlashDevice device = FlashDevice.open(dir.resolve("flash"), 64L << 20, false, "s3-fifo");
             CachedVolume v = new CachedVolume("vol", backing, device, Policy.WRITE_BACK, 256 << 10, DestageSettings.defaults())) {
            List<CompletableFuture<Void>> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                int client = c;
                clients.add(CompletableFuture.runAsync(() -> run(v, client, models[client]), task -> Thread.ofPlatform().start(task)));
            }
            Thread flipper = Thread.ofPlatform().start(() -> {
                Random r = new Random(99);
                while (!done.get()) {
                    v.setPolicy(r.nextInt(3) == 0 ? Policy.values()[r.nextInt(4)] : Policy.WRITE_BACK);
                    try {
                        v.flush();
                        Thread.sleep(3);
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }
            });
            CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get();
            done.set(true);
            flipper.join();
            assertThat(v.awaitClean(Duration.ofSeconds(60))).isTrue();
            byte[] image = backing.image();
            for (int c = 0; c < CLIENTS; c++) {
                byte[] region = Arrays.copyOfRange(image, c * REGION_BLOCKS * 4096, (c + 1) * REGION_BLOCKS * 4096);
                assertThat(Arrays.equals(region, models[c])).as("region of client %d on the backing store", c).isTrue();
            }
            assertThat(device.cache().stats().cleanerRounds()).as("the cleaner reclaimed segments meanwhile").isPositive();
        }
    }

    private static void run(CachedVolume v, int client, byte[] model) {
        Random r = new Random(client);
        long base = (long) client * REGION_BLOCKS * 4096;
        try {
            for (int op = 0; op < 3000; op++) {
                int block = r.nextInt(REGION_BLOCKS - 16);
                int blocks = 1 + r.nextInt(r.nextInt(10) == 0 ? 16 : 2);
                int offset = block * 4096 + (r.nextInt(5) == 0 ? r.nextInt(4096) : 0);
                int length = Math.min(blocks * 4096 - (r.nextInt(5) == 0 ? r.nextInt(4000) : 0), model.length - offset);
                if (r.nextBoolean()) {
                    byte[] data = new byte[length];
                    r.nextBytes(data);
                    ByteBuffer src = ByteBuffer.wrap(data);
                    CompletableFuture<Void> fast = r.nextBoolean() ? v.tryWriteAsync(base + offset, src, false) : null;
                    if (fast != null) {
                        fast.get();
                    } else {
                        v.write(base + offset, src, r.nextInt(8) == 0);
                    }
                    System.arraycopy(data, 0, model, offset, length);
                } else {
                    ByteBuffer dst = ByteBuffer.allocate(length);
                    CompletableFuture<Void> fast = r.nextBoolean() ? v.tryReadAsync(base + offset, dst) : null;
                    if (fast != null) {
                        fast.get();
                    } else {
                        v.read(base + offset, dst);
                    }
                    if (!Arrays.equals(dst.array(), 0, length, model, offset, offset + length)) {
                        throw new AssertionError("client " + client + " op " + op + ": read " + offset + "+" + length + " differs from its model");
                    }
                }
            }
        } catch (Exception e) {
            throw new AssertionError("client " + client, e);
        }
    }
}
