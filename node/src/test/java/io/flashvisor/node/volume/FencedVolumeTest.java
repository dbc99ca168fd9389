package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import io.flashvisor.destage.DestageSettings;
import io.flashvisor.node.Policy;
import io.flashvisor.replication.owner.ReleaseTracker;
import io.flashvisor.replication.owner.ReplicaSet;
import io.flashvisor.replication.protocol.Replicate;
import io.flashvisor.replication.transport.InMemoryReplicaSink;
import io.flashvisor.replication.transport.PeerClient;
import io.flashvisor.replication.transport.PeerConnector;
import io.flashvisor.replication.transport.ReplicationServer;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
    ReplicationServer holder;
    PeerConnector connector;
    PeerClient peer;
    FlashDevice flash;

    @BeforeEach
    void holder() throws Exception {
        InMemoryReplicaSink sink = new InMemoryReplicaSink() {
            @Override
            public synchronized CompletableFuture<Void> replicate(long from, Replicate m) {
                beforeReplica.accept(m);
                return super.replicate(from, m);
            }
        };
        holder = ReplicationServer.start(ReplicationServer.Settings.of("127.0.0.1", 0, ReplicatedWriteBackTest.HOLDER,
                ReplicatedWriteBackTest.SECRET), sink);
        connector = PeerConnector.create(PeerConnector.Settings.of(ReplicatedWriteBackTest.OWNER, ReplicatedWriteBackTest.SECRET));
        peer = connector.connect(new InetSocketAddress("127.0.0.1", holder.port()), ReplicatedWriteBackTest.HOLDER).get();
        flash = FlashDevice.open(dir.resolve("owner-flash"), 64L << 20, false, "s3-fifo");
    }

    @AfterEach
    void close() throws Exception {
        peer.close();
        connector.close();
        holder.close();
        flash.close();
    }

    CachedVolume owner(MemoryBacking backing) throws Exception {
        VolumeReplication r = new VolumeReplication(ReplicatedWriteBackTest.OWNER, () -> 3, new ReplicaSet(List.of(peer)),
                new ReleaseTracker(0), lease::get);
        return new CachedVolume("vol", backing, flash, Policy.WRITE_BACK, 0,
                new DestageSettings(64, 4, 0.1, 0.5, Duration.ofMillis(5), Duration.ofMillis(20)), r);
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
