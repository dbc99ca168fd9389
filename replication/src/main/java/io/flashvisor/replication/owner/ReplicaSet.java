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
    private final int promised;

    /** @param peers the connected peers; as many as the volume's replicas, or fewer (degraded) */
    public ReplicaSet(List<PeerClient> peers, int promised) {
        this.peers = List.copyOf(peers);
        this.promised = promised;
    }

    public ReplicaSet(List<PeerClient> peers) {
        this(peers, peers.size());
    }

    /** Fewer peers than promised, or one of them disconnected: a write cannot get every copy. */
    public boolean degraded() {
        return peers.size() < promised || peers.stream().anyMatch(p -> !p.isOpen());
    }

    public int size() {
        return peers.size();
    }

    /**
     * Completes when every promised peer has the write durable; fails with the first peer's failure,
     * or — after the live ones have it — when fewer peers than promised exist (the caller then
     * writes through to the backing store).
     */
    public CompletableFuture<Void> replicate(Replicate write) {
        CompletableFuture<?>[] acks = new CompletableFuture<?>[peers.size()];
        for (int i = 0; i < acks.length; i++) {
            PeerClient p = peers.get(i);
            acks[i] = p.isOpen() ? p.replicate(write)
                    : CompletableFuture.failedFuture(new IllegalStateException("peer " + p.peerHostId() + " is disconnected"));
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(acks);
        if (peers.size() < promised) {
            // The live peers still get their copy; the caller learns that copies are missing.
            return all.thenCompose(v -> CompletableFuture.failedFuture(new IllegalStateException("only " + peers.size()
                    + " of " + promised + " replica peers are live")));
        }
        return all;
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
