package io.flashvisor.node.volume;

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
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A replicated volume's two ends for tests in one JVM: a holder (a real replication server over an
 * in-memory sink that runs {@code beforeReplica} on each replica before taking it) and the owner's
 * side (a peer connection to it and a 64M flash device), from which {@link #owner} builds a
 * write-back volume with one replica.
 */
final class OwnerAndHolder implements AutoCloseable {
    final InMemoryReplicaSink sink;
    final ReplicationServer holder;
    final PeerConnector connector;
    final PeerClient peer;
    final FlashDevice flash;

    OwnerAndHolder(Path dir, Consumer<Replicate> beforeReplica) throws Exception {
        sink = new InMemoryReplicaSink() {
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

    /** Write-back with the holder as its one replica peer, under a lease {@code mayAct}; quick destage retries. */
    CachedVolume owner(MemoryBacking backing, BooleanSupplier mayAct) throws Exception {
        VolumeReplication r = new VolumeReplication(ReplicatedWriteBackTest.OWNER, () -> 3, new ReplicaSet(List.of(peer)),
                new ReleaseTracker(0), mayAct);
        return new CachedVolume("vol", backing, flash, Policy.WRITE_BACK, 0,
                new DestageSettings(64, 4, 0.1, 0.5, Duration.ofMillis(5), Duration.ofMillis(20)), r);
    }

    @Override
    public void close() throws Exception {
        peer.close();
        connector.close();
        holder.close();
        flash.close();
    }
}
