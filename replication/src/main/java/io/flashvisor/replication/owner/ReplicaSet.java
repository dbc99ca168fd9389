package io.flashvisor.replication.owner;

import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.protocol.Replicate;
import io.flashvisor.replication.transport.PeerClient;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The peers that hold a volume's replicas, seen from its owner: a write is sent to all of them in
 * parallel and counts only when every one has acknowledged it durable; releases go to all, best
 * effort (a lost release only keeps a replica longer).
 */
public final class ReplicaSet {
    private final List<PeerClient> peers;

    public ReplicaSet(List<PeerClient> peers) {
        this.peers = List.copyOf(peers);
    }

    public int size() {
        return peers.size();
    }

    /** Completes when every peer has the write durable; fails with the first peer's failure. */
    public CompletableFuture<Void> replicate(Replicate write) {
        CompletableFuture<?>[] acks = new CompletableFuture<?>[peers.size()];
        for (int i = 0; i < acks.length; i++) {
            PeerClient p = peers.get(i);
            acks[i] = p.isOpen() ? p.replicate(write)
                    : CompletableFuture.failedFuture(new IllegalStateException("peer " + p.peerHostId() + " is disconnected"));
        }
        return CompletableFuture.allOf(acks);
    }

    /** Tells every peer it may forget the volume's writes up to {@code upToSequence}. */
    public void release(long origin, long volumeId, long epoch, long upToSequence) {
        for (PeerClient p : peers) {
            if (p.isOpen()) {
                p.release(new Release(origin, volumeId, epoch, upToSequence, List.of()));
            }
        }
    }

    public List<PeerClient> peers() {
        return peers;
    }
}
