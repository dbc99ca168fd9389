package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flashvisor.destage.DestageSettings;
import io.flashvisor.node.Policy;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The latency breakdown records each component where the time is spent: a slow backing store shows
 * in {@code san} (client misses, write-through writes and destage writes alike), a holder that is
 * slow to acknowledge shows in {@code peer}, and what the VM sees contains them. Only relations that
 * hold on any machine are asserted: counts, and lower bounds set by the injected delays (a delay is
 * a floor, never a ceiling).
 */
class LatencyBreakdownTest {
    static final int SIZE = 8 << 20;
    static final long SAN_DELAY_MICROS = 3_000;
    static final long PEER_DELAY_MICROS = 5_000;

    @TempDir
    Path dir;

    static LatencySummary of(CachedVolume v, LatencyComponent c) {
        return v.latency().summary().get(c);
    }

    static ByteBuffer block(int value) {
        return ByteBuffer.allocate(4096).putInt(0, value);
    }

    FlashDevice flash() throws Exception {
        return FlashDevice.open(dir.resolve("flash-" + System.nanoTime()), 64L << 20, false, "s3-fifo");
    }

    @Test
    void aSlowBackingStoreShowsInSanAndInWhatTheVmSees() throws Exception {
        MemoryBacking backing = new MemoryBacking(SIZE);
        backing.delay(TimeUnit.MICROSECONDS.toNanos(SAN_DELAY_MICROS));
        int writes = 12;
        int misses = 8;
        try (FlashDevice flash = flash();
             CachedVolume v = new CachedVolume("vol", backing, flash, Policy.WRITE_THROUGH, 0, DestageSettings.defaults())) {
            for (int i = 0; i < writes; i++) {
                v.write(i * 4096L, block(i + 1), false); // write-through: one backing-store write each
            }
            for (int i = 0; i < misses; i++) {
                v.read((100 + i) * 4096L, ByteBuffer.allocate(4096)); // never written, not cached: one backing-store read each
            }
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertThat(of(v, LatencyComponent.VM_WRITE).count()).isEqualTo(writes);
                assertThat(of(v, LatencyComponent.VM_READ).count()).isEqualTo(misses);
                assertThat(of(v, LatencyComponent.SAN).count()).isEqualTo(writes + misses);
            });
            LatencySummary san = of(v, LatencyComponent.SAN);
            assertThat(san.p50Micros()).as("san p50 is at least the injected delay: %s", san).isGreaterThanOrEqualTo(SAN_DELAY_MICROS);
            assertThat(san.maxMicros()).isGreaterThanOrEqualTo(san.p99Micros()).isGreaterThanOrEqualTo(san.p50Micros());
            assertThat(san.totalCount()).isEqualTo(writes + misses);
            assertThat(san.totalMicros()).isGreaterThanOrEqualTo((writes + misses) * SAN_DELAY_MICROS * 99 / 100);
            // Every VM request here contains one backing-store call, so its distribution lies above san's.
            assertThat(of(v, LatencyComponent.VM_WRITE).p50Micros()).isGreaterThanOrEqualTo(san.p50Micros());
            assertThat(of(v, LatencyComponent.VM_READ).p50Micros()).isGreaterThanOrEqualTo(SAN_DELAY_MICROS);
            assertThat(of(v, LatencyComponent.PEER).count()).as("not replicated").isZero();
            assertThat(of(v, LatencyComponent.FLASH_WRITE).count()).as("write-through caches the written blocks").isPositive();

            // The status carries the same breakdown, by label.
            Map<String, LatencySummary> status = v.status().latency();
            assertThat(status).containsOnlyKeys("vm-read", "vm-write", "flash-read", "flash-write", "peer", "san");
            assertThat(status.get("san").count()).isEqualTo(writes + misses);
        }
    }

    @Test
    void destageWritesAreSanTimeAndDirtyAppendsFlashTime() throws Exception {
        MemoryBacking backing = new MemoryBacking(SIZE);
        backing.delay(TimeUnit.MICROSECONDS.toNanos(SAN_DELAY_MICROS));
        int writes = 16;
        try (FlashDevice flash = flash();
             CachedVolume v = new CachedVolume("vol", backing, flash, Policy.WRITE_BACK, 0,
                     new DestageSettings(64, 4, 0.1, 0.5, Duration.ofMillis(5), Duration.ofMillis(20)))) {
            for (int i = 0; i < writes; i++) {
                ByteBuffer data = block(i + 1);
                CompletableFuture<Void> fast = i % 2 == 0 ? v.tryWriteAsync(i * 2 * 4096L, data, false) : null;
                if (fast != null) {
                    fast.get(10, TimeUnit.SECONDS); // the event loop's path counts too, measured to its completion
                } else {
                    v.write(i * 2 * 4096L, data, false);
                }
            }
            v.flush();
            assertThat(v.awaitClean(Duration.ofSeconds(30))).isTrue();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertThat(of(v, LatencyComponent.VM_WRITE).count()).isEqualTo(writes);
                assertThat(of(v, LatencyComponent.FLASH_WRITE).count()).as("one append per dirty write").isGreaterThanOrEqualTo(writes);
            });
            LatencySummary san = of(v, LatencyComponent.SAN);
            assertThat(san.count()).as("the destager's writes (no client request reached the backing store)").isPositive();
            assertThat(backing.writes.get()).isEqualTo(san.count());
            assertThat(san.p50Micros()).as("destage writes over the slow backing store: %s", san).isGreaterThanOrEqualTo(SAN_DELAY_MICROS);
        }
    }

    @Test
    void aHolderSlowToAcknowledgeShowsInPeerAndInTheVmsWrites() throws Exception {
        int writes = 10;
        try (OwnerAndHolder pair = new OwnerAndHolder(dir, m -> sleepMicros(PEER_DELAY_MICROS));
             CachedVolume v = pair.owner(new MemoryBacking(SIZE), () -> true)) {
            for (int i = 0; i < writes; i++) {
                ByteBuffer data = block(i + 1);
                CompletableFuture<Void> fast = i % 2 == 0 ? v.tryWriteAsync(i * 4096L, data, false) : null;
                if (fast != null) {
                    fast.get(10, TimeUnit.SECONDS);
                } else {
                    v.write(i * 4096L, data, false);
                }
            }
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertThat(of(v, LatencyComponent.PEER).count()).as("one round trip per write").isEqualTo(writes);
                assertThat(of(v, LatencyComponent.VM_WRITE).count()).isEqualTo(writes);
            });
            LatencySummary peer = of(v, LatencyComponent.PEER);
            assertThat(peer.p50Micros()).as("peer p50 is at least the holder's delay: %s", peer)
                    .isGreaterThanOrEqualTo(PEER_DELAY_MICROS);
            // A write is acknowledged only after its peer's ack: what the VM sees lies above the round trip.
            assertThat(of(v, LatencyComponent.VM_WRITE).p50Micros()).isGreaterThanOrEqualTo(peer.p50Micros());
            assertThat(v.status().latency().get("peer").count()).isEqualTo(writes);
            assertThat(v.status().replicas()).isEqualTo(1);
            assertThat(v.status().liveReplicas()).isEqualTo(1);
        }
    }

    private static void sleepMicros(long micros) {
        try {
            Thread.sleep(Duration.ofNanos(TimeUnit.MICROSECONDS.toNanos(micros)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
