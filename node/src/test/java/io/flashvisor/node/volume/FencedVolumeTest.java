package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import io.flashvisor.replication.protocol.Replicate;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replicated volume whose lease lapsed ({@code mayAct} false) is fenced: it serves no read (another
 * host may own the volume and hold newer data) and acknowledges no write — including a write whose
 * lease lapses while its replica is on the way. ({@link ReplicatedWriteBackTest} covers a write
 * issued after the lapse.)
 */
class FencedVolumeTest {
    static final int SIZE = 8 << 20;

    @TempDir
    Path dir;

    final AtomicBoolean lease = new AtomicBoolean(true);
    /** Runs on the holder before it takes a replica (and acknowledges it). */
    volatile Consumer<Replicate> beforeReplica = m -> { };
    OwnerAndHolder pair;

    @BeforeEach
    void holder() throws Exception {
        pair = new OwnerAndHolder(dir, m -> beforeReplica.accept(m));
    }

    @AfterEach
    void close() throws Exception {
        pair.close();
    }

    CachedVolume owner(MemoryBacking backing) throws Exception {
        return pair.owner(backing, lease::get);
    }

    static ByteBuffer block(int value) {
        ByteBuffer b = ByteBuffer.allocate(4096);
        for (int i = 0; i < 4096; i += 4) {
            b.putInt(i, value);
        }
        return b;
    }

    static void assertRefusedAsFenced(Throwable t) {
        Throwable cause = t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
        assertThat(cause).as("refused with an I/O error naming the lapsed lease").isInstanceOf(VolumeException.class)
                .hasMessageContaining("lease lapsed");
        assertThat(((VolumeException) cause).error()).isEqualTo(BlockError.IO);
    }

    @Test
    void aFencedVolumeServesNoRead() throws Exception {
        MemoryBacking backing = new MemoryBacking(SIZE);
        backing.failDestageWrites(true); // block 0 stays dirty on flash: a read would find it there
        try (CachedVolume v = owner(backing)) {
            v.write(0, block(8), false);
            ByteBuffer before = ByteBuffer.allocate(4096);
            v.read(0, before);
            assertThat(before.getInt(0)).as("served while the lease is held").isEqualTo(8);

            lease.set(false);
            long backingReads = backing.reads.get();

            // The event loop's fast path (block 0 is cached) must not serve it.
            ByteBuffer fast = ByteBuffer.allocate(4096);
            CompletableFuture<Void> f = v.tryReadAsync(0, fast);
            if (f != null) {
                assertRefusedAsFenced(catchThrowable(() -> f.get(10, TimeUnit.SECONDS)));
            }
            assertThat(fast.position()).as("fast path delivered nothing").isZero();
            assertThat(fast.getInt(0)).isZero();

            // The slow path, over a cached block (0) and an uncached one (1): neither flash nor the backing store serves it.
            ByteBuffer slow = ByteBuffer.allocate(2 * 4096);
            assertRefusedAsFenced(catchThrowable(() -> v.read(0, slow)));
            assertThat(slow.position()).as("slow path delivered nothing").isZero();
            assertThat(slow.getInt(0)).isZero();
            assertThat(backing.reads.get()).as("no backing-store read while fenced").isEqualTo(backingReads);
            assertThat(v.status().health()).isEqualTo("fenced");
        }
    }

    @Test
    void aLeaseThatLapsesWhileTheReplicaIsOnTheWayFailsTheWrite() throws Exception {
        MemoryBacking backing = new MemoryBacking(SIZE);
        try (CachedVolume v = owner(backing)) {
            // The lease is valid when the write starts and lapses before the holder acknowledges its replica.
            beforeReplica = m -> {
                if (m.firstBlock() == 5 || m.firstBlock() == 6) {
                    lease.set(false);
                }
            };
            assertRefusedAsFenced(catchThrowable(() -> v.write(5 * 4096L, block(5), false)));

            lease.set(true);
            CompletableFuture<Void> fast = v.tryWriteAsync(6 * 4096L, block(6), false);
            assertThat(fast).as("the fast path takes an aligned write-back write under a valid lease").isNotNull();
            assertRefusedAsFenced(catchThrowable(() -> fast.get(10, TimeUnit.SECONDS)));

            // Control: with the lease held throughout, the same writes are acknowledged.
            beforeReplica = m -> { };
            lease.set(true);
            v.write(5 * 4096L, block(15), false);
            v.tryWriteAsync(6 * 4096L, block(16), false).get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aLeaseBackWithinTheWaitLetsTheReadThrough() throws Exception {
        MemoryBacking backing = new MemoryBacking(SIZE);
        try (CachedVolume v = owner(backing)) {
            v.write(0, block(8), false);
            lease.set(false); // in doubt: a ZooKeeper blip
            CompletableFuture<ByteBuffer> read = CompletableFuture.supplyAsync(() -> {
                ByteBuffer dst = ByteBuffer.allocate(4096);
                try {
                    v.read(0, dst);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
                return dst;
            });
            Thread.sleep(300);
            lease.set(true);
            assertThat(read.get(30, TimeUnit.SECONDS).getInt(0)).isEqualTo(8);
        }
    }
}
