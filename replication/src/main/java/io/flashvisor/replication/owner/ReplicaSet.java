package io.flashvisor.replication.owner;

import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.protocol.Replicate;
import io.flashvisor.replication.transport.PeerClient;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The peers that hold a volume's replicas, seen from its owner: a write is sent to all of them in
 * parallel and counts only when every one has acknowledged it durable; releases go to all, best
 * effort (a lost release only keeps a replica longer). A peer that failed a write is dropped
 * ({@link #drop}) once the owner has taken it out of the volume's record: from then on it holds
 * an incomplete copy and must never take the volume over. Thread-safe.
 */
public final class ReplicaSet {
    private final List<PeerClient> peers;
    private final int promised;

    /** A write that did not reach every promised peer: {@code failed} are the peers that did not take it. */
    public static final class MissingCopies extends IllegalStateException {
        private static final long serialVersionUID = 1L;
        private final transient List<PeerClient> failed;

        MissingCopies(String message, List<PeerClient> failed) {
            super(message);
            this.failed = List.copyOf(failed);
        }

        public List<PeerClient> failed() {
            return failed;
        }
    }

    /** @param peers the connected peers; as many as the volume's replicas, or fewer (degraded) */
    public ReplicaSet(List<PeerClient> peers, int promised) {
        this.peers = new CopyOnWriteArrayList<>(peers);
        this.promised = promised;
    }

    public ReplicaSet(List<PeerClient> peers) {
        this(peers, peers.size());
    }

    /** Fewer peers than promised, or one of them disconnected: a write cannot get every copy. */
    public boolean degraded() {
        return peers.size() < promised || peers.stream().anyMatch(p -> !p.isOpen());
    }

    /**
     * Completes when every promised peer has the write durable; otherwise fails — after every live
     * peer has answered — with {@link MissingCopies} naming the peers that failed (none when there are
     * simply fewer peers than promised). The caller then writes through to the backing store.
     */
    public CompletableFuture<Void> replicate(Replicate write) {
        List<PeerClient> now = List.copyOf(peers);
        List<CompletableFuture<Void>> acks = new ArrayList<>(now.size());
        for (PeerClient p : now) {
            acks.add(p.isOpen() ? p.replicate(write)
                    : CompletableFuture.failedFuture(new IllegalStateException("peer " + p.peerHostId() + " is disconnected")));
        }
        return CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).handle((ok, e) -> null).thenCompose(v -> {
            List<PeerClient> failed = new ArrayList<>();
            for (int i = 0; i < acks.size(); i++) {
                if (acks.get(i).isCompletedExceptionally()) {
                    failed.add(now.get(i));
                }
            }
            if (failed.isEmpty() && now.size() >= promised) {
                return CompletableFuture.completedFuture(null);
            }
            return CompletableFuture.failedFuture(new MissingCopies(failed.isEmpty()
                    ? "only " + now.size() + " of " + promised + " replica peers are live"
                    : failed.size() + " replica peer(s) failed the write", failed));
        });
    }

    /** The owner took {@code peer} out of the volume's replica set: stop sending to it. */
    public void drop(PeerClient peer) {
        peers.remove(peer);
        peer.close();
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
        return List.copyOf(peers);
    }
}
