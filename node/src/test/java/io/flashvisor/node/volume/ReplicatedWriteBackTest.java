package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.flashvisor.cache.engine.FlashCache;
import io.flashvisor.cache.engine.ReplicaStore;
import io.flashvisor.destage.DestageSettings;
import io.flashvisor.node.Policy;
import io.flashvisor.replication.owner.ReleaseTracker;
import io.flashvisor.replication.owner.ReplicaSet;
import io.flashvisor.replication.protocol.ClusterSecret;
import io.flashvisor.replication.store.FlashReplicaSink;
import io.flashvisor.replication.transport.PeerClient;
import io.flashvisor.replication.transport.PeerConnector;
import io.flashvisor.replication.transport.ReplicationServer;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Write-back with one replica over the real peer protocol, in one JVM: the owner's writes are
 * durable on its flash and in the holder's flash log before they are acknowledged, so when the
 * owner is lost before destaging anything, the holder's replicas alone rebuild every acknowledged
 * write on the backing store (a takeover destage). Also: releases after destage, the write-through
 * fallback when the peer is gone, and a fenced owner acknowledging nothing.
 */
class ReplicatedWriteBackTest {
    static final ClusterSecret SECRET = ClusterSecret.of("replicated write-back test secret".getBytes(StandardCharsets.US_ASCII));
    static final long OWNER = 1;
    static final long HOLDER = 2;
    static final int SIZE = 8 << 20;

    @TempDir
    Path dir;

    FlashDevice holderFlash;
    ReplicationServer holder;
    PeerConnector connector;
    PeerClient peer;
    final AtomicBoolean lease = new AtomicBoolean(true);
    final List<Long> lost = new java.util.concurrent.CopyOnWriteArrayList<>();

    @BeforeEach
    void holder() throws Exception {
        holderFlash = FlashDevice.open(dir.resolve("holder-flash"), 64L << 20, false, "s3-fifo");
        holder = ReplicationServer.start(ReplicationServer.Settings.of("127.0.0.1", 0, HOLDER, SECRET),
                new FlashReplicaSink(holderFlash.cache().replicas()));
        connector = PeerConnector.create(PeerConnector.Settings.of(OWNER, SECRET));
        peer = connector.connect(new InetSocketAddress("127.0.0.1", holder.port()), HOLDER).get();
    }

    @AfterEach
    void close() throws Exception {
        peer.close();
        connector.close();
        holder.close();
        holderFlash.close();
    }

    CachedVolume owner(MemoryBacking backing, boolean replicated) throws Exception {
        FlashDevice flash = FlashDevice.open(dir.resolve("owner-flash-" + System.nanoTime()), 64L << 20, false, "s3-fifo");
        VolumeReplication r = replicated
                ? new VolumeReplication(OWNER, () -> 3, new ReplicaSet(List.of(peer)), new ReleaseTracker(0), lease::get, lost::addAll, upTo -> null)
                : null;
        return new CachedVolume("vol", backing, flash, Policy.WRITE_BACK, 0,
                new DestageSettings(64, 4, 0.1, 0.5, Duration.ofMillis(5), Duration.ofMillis(20)), r);
    }

    @Test
    void theHoldersReplicasAloneRebuildEveryAcknowledgedWrite() throws Exception {
        assertThat(takeOverAfterOwnerLoss(true)).as("backing store after the takeover equals every acknowledged write").isTrue();
    }

    /** Negative control: without replication the same checker finds writes missing. */
    @Test
    void withoutReplicasTheCheckerFindsTheLoss() throws Exception {
        assertThat(takeOverAfterOwnerLoss(false)).isFalse();
    }

    private boolean takeOverAfterOwnerLoss(boolean replicated) throws Exception {
        MemoryBacking backing = new MemoryBacking(SIZE);
        backing.failDestageWrites(true); // the owner destages nothing before it dies
        byte[] model = new byte[SIZE];
        CachedVolume v = owner(backing, replicated);
        Random r = new Random(3);
        for (int i = 0; i < 300; i++) {
            int block = r.nextInt(SIZE / 4096 - 4);
            int blocks = 1 + r.nextInt(4);
            byte[] data = new byte[blocks * 4096];
            r.nextBytes(data);
            ByteBuffer src = ByteBuffer.wrap(data);
            CompletableFuture<Void> fast = r.nextBoolean() ? v.tryWriteAsync(block * 4096L, src, false) : null;
            if (fast != null) {
                fast.get();
            } else {
                v.write(block * 4096L, src, false);
            }
            System.arraycopy(data, 0, model, block * 4096, data.length);
            if (i % 40 == 0) {
                v.flush();
            }
        }
        holder.close(); // the network goes with the owner: whatever was not on the holder's flash when acknowledged is lost
        v.close(); // the owner host is gone with its flash: it is never opened again
        backing.failDestageWrites(false);
        // The takeover destage: the newest replica of every block, from the holder's flash log.
        ReplicaStore replicas = holderFlash.cache().replicas();
        long written = TakeoverDestage.run(replicas, OWNER, FlashCache.volumeId("vol"), backing);
        if (replicated) {
            assertThat(written).as("blocks held by the replica").isPositive();
        } else {
            assertThat(written).isZero();
        }
        assertThat(replicas.liveBlocks()).as("released after the destage").isZero();
        return Arrays.equals(backing.image(), model);
    }

    @Test
    void destagedWritesAreReleasedOnThePeer() throws Exception {
        MemoryBacking backing = new MemoryBacking(SIZE);
        try (CachedVolume v = owner(backing, true)) {
            for (int b = 0; b < 64; b++) {
                v.write(b * 4096L * 3, ByteBuffer.wrap(new byte[4096]).putInt(0, b + 1), false);
            }
            v.flush();
            assertThat(v.awaitClean(Duration.ofSeconds(30))).isTrue();
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> holderFlash.cache().replicas().liveBlocks() == 0);
        }
    }

    @Test
    void aLostPeerMakesWritesGoThroughAndTheVolumeDegraded() throws Exception {
        MemoryBacking backing = new MemoryBacking(SIZE);
        backing.delay(200_000); // a slow SAN: without the fallback the write would be acknowledged long before destage
        try (CachedVolume v = owner(backing, true)) {
            byte[] old = new byte[4096];
            Arrays.fill(old, (byte) 6);
            v.write(4096, ByteBuffer.wrap(old), false); // an older dirty version of the same block, in an earlier epoch
            v.flush();
            peer.close();
            byte[] data = new byte[4096];
            Arrays.fill(data, (byte) 7);
            v.write(4096, ByteBuffer.wrap(data), false); // acknowledged once on local flash and (in epoch order) the backing store
            assertThat(Arrays.copyOfRange(backing.image(), 4096, 8192)).as("the backing store is the second copy").isEqualTo(data);
            Thread.sleep(200); // nothing older may land on the backing store after it
            assertThat(Arrays.copyOfRange(backing.image(), 4096, 8192)).isEqualTo(data);
            assertThat(lost).as("the failed peer left the replica set before the acknowledgement").containsExactly(HOLDER);
            assertThat(v.status().health()).isEqualTo("degraded");
        }
    }

    @Test
    void aFencedOwnerAcknowledgesNothingAndDestagesNothing() throws Exception {
        MemoryBacking backing = new MemoryBacking(SIZE);
        backing.failDestageWrites(true); // keeps the first write dirty until the lease has lapsed
        try (CachedVolume v = owner(backing, true)) {
            v.write(0, ByteBuffer.wrap(new byte[4096]).putInt(0, 8), false);
            lease.set(false);
            backing.failDestageWrites(false);
            assertThatThrownBy(() -> v.write(4096, ByteBuffer.wrap(new byte[4096]).putInt(0, 9), false))
                    .hasMessageContaining("lease lapsed");
            long writes = backing.writes.get();
            assertThat(v.awaitClean(Duration.ofMillis(300))).isFalse();
            assertThat(backing.writes.get()).as("no destage write while fenced").isEqualTo(writes);
            assertThat(v.status().health()).isEqualTo("fenced");
        }
    }
}
