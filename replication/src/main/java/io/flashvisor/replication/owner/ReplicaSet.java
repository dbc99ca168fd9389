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
 * an incomplete copy and must never take the volume over. Members of the record's replica set
 * that were down when the owner claimed ({@code absent}) miss every write from the start: they
 * count as failed until they have left the record too. Thread-safe.
 */
public final class ReplicaSet {
    private final List<PeerClient> peers;
    private final int promised;
    private final List<Long> absent;
    /** Peers added mid-epoch ({@link #add}) → the last origin sequence they do not hold. */
    private final java.util.Map<PeerClient, Long> joinedAfter = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * A write that did not reach every promised peer: {@code failed} are the connected peers that did
     * not take it, {@code absent} the record's members that were never connected.
     */
    public static final class MissingCopies extends IllegalStateException {
        private static final long serialVersionUID = 1L;
        private final transient List<PeerClient> failed;
        private final List<Long> absent;

        MissingCopies(String message, List<PeerClient> failed, List<Long> absent) {
            super(message);
            this.failed = List.copyOf(failed);
            this.absent = List.copyOf(absent);
        }

        public List<PeerClient> failed() {
            return failed;
        }

        /** Every record member that misses the write: it must leave the record before the write is acknowledged. */
        public List<Long> missingHostIds() {
            List<Long> ids = new ArrayList<>(absent);
            failed.forEach(p -> ids.add(p.peerHostId()));
            return ids;
        }
    }

    /**
     * @param peers    the connected peers; as many as the volume's replicas, or fewer (degraded)
     * @param absent   peer host ids of record members that are down (a returning owner keeps them)
     */
    public ReplicaSet(List<PeerClient> peers, int promised, List<Long> absent) {
        this.peers = new CopyOnWriteArrayList<>(peers);
        this.promised = promised;
        this.absent = new CopyOnWriteArrayList<>(absent);
    }

    public ReplicaSet(List<PeerClient> peers, int promised) {
        this(peers, promised, List.of());
    }

    public ReplicaSet(List<PeerClient> peers) {
        this(peers, peers.size());
    }

    /** Copies promised for each write: the volume's {@code replicas}. */
    public int promised() {
        return promised;
    }

    /** Connected peers in the set now; fewer than {@link #promised} and the set is {@link #degraded}. */
    public int live() {
        return (int) peers.stream().filter(PeerClient::isOpen).count();
    }

    /** Fewer peers than promised, a record member absent, or a peer disconnected: a write cannot get every copy. */
    public boolean degraded() {
        return peers.size() < promised || !absent.isEmpty() || peers.stream().anyMatch(p -> !p.isOpen());
    }

    /**
     * Completes when every promised peer has the write durable; otherwise fails — after every live
     * peer has answered — with {@link MissingCopies} naming the peers that failed (none when there are
     * simply fewer peers than promised). The caller then writes through to the backing store.
     */
    public CompletableFuture<Void> replicate(Replicate write) {
        // A peer added after this write was numbered does not count for it (its copy of the write is not promised).
        List<PeerClient> now = peers.stream().filter(p -> write.originSequence() > joinedAfter.getOrDefault(p, Long.MIN_VALUE))
                .toList();
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
            List<Long> gone = List.copyOf(absent);
            if (failed.isEmpty() && gone.isEmpty() && now.size() >= promised) {
                return CompletableFuture.completedFuture(null);
            }
            return CompletableFuture.failedFuture(new MissingCopies(!failed.isEmpty()
                    ? failed.size() + " replica peer(s) failed the write"
                    : !gone.isEmpty() ? "replica set member(s) " + gone + " are down"
                    : "only " + now.size() + " of " + promised + " replica peers are live", failed, gone));
        });
    }

    /**
     * A new peer joined the replica set mid-epoch (re-replication after a peer was lost): it holds
     * nothing of this owner up to {@code releasedUpTo} — released there — and counts for writes
     * numbered after that. Writes numbered before still miss a copy and wait for the destager.
     */
    public void add(PeerClient peer, long releasedUpTo) {
        joinedAfter.put(peer, releasedUpTo);
        peers.add(peer);
    }

    /**
     * Promised copies with no peer for them — after a failed peer was dropped (or none was live at
     * the claim): a new peer should be found. A failed peer still in the set is not counted: it
     * leaves first (after the volume is clean), so the record never names more peers than promised.
     */
    public int missing() {
        return Math.max(0, promised - peers.size() - absent.size());
    }


    /**
     * The owner took these hosts out of the volume's replica set: stop sending to them.
     *
     * @return whether any of them was still in the set (concurrent writes that missed the same peer
     *         all drop it; one of them does it)
     */
    public boolean drop(MissingCopies missing) {
        boolean dropped = absent.removeAll(missing.absent);
        for (PeerClient peer : missing.failed) {
            dropped |= peers.remove(peer);
            joinedAfter.remove(peer);
            peer.close();
        }
        return dropped;
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
