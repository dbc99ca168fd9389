package io.flashvisor.node;

import io.flashvisor.cache.engine.FlashCache;
import io.flashvisor.cache.engine.VolumeCache;
import io.flashvisor.cluster.CasOutcome;
import io.flashvisor.cluster.Cluster;
import io.flashvisor.cluster.Member;
import io.flashvisor.cluster.RecordRules;
import io.flashvisor.cluster.ReplicaPlacement;
import io.flashvisor.cluster.VolumeRecord;
import io.flashvisor.cluster.VolumeState;
import io.flashvisor.node.volume.VolumeReplication;
import io.flashvisor.replication.owner.ReleaseTracker;
import io.flashvisor.replication.owner.ReplicaSet;
import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.transport.PeerClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Becoming the owner of a write-back volume with replicas: choose peers (other fault domains
 * first, most free flash), claim the volume's record by compare-and-set (its epoch grows by one),
 * connect to the peers, and hand the {@link io.flashvisor.node.volume.CachedVolume} what it needs
 * ({@link VolumeReplication}).
 *
 * <p>Origin sequences start at {@code epoch << 40}: a new incarnation of the owner (a new epoch)
 * numbers its writes above everything an earlier one replicated or released, so peers never take
 * a new write for an old one. With fewer live peers than {@code replicas}, the volume starts
 * {@code DEGRADED} with the peers it has; writes that miss a copy go through to the backing store
 * (docs/replication.md) — never acknowledged with fewer durable copies than promised.
 */
final class VolumeOwnership {
    private static final Logger LOG = LoggerFactory.getLogger(VolumeOwnership.class);
    private static final long CONNECT_TIMEOUT_SECONDS = 10;
    private static final long NO_RELEASE = -1;

    private VolumeOwnership() {
    }

    /**
     * A returning host (issue 4, item 6): dirty data its flash log recovered for {@code volume} is
     * current only if the volume's record still names this host as owner — then nobody took the
     * volume over while this host was away, and this host's copy is the newest. Otherwise a holder
     * took over (and destaged every acknowledged write), so this data is stale: destaging it would
     * write older data over newer (I2). It is discarded before the destager starts.
     */
    static VolumeRecord reconcile(Cluster cluster, VolumeCache cache, long volumeBytes) throws IOException {
        VolumeRecord record = cluster.volume(cache.name()).orElse(null);
        long dirty = cache.dirtyBytes();
        if (dirty == 0) {
            return record;
        }
        if (record != null && cluster.hostId().equals(record.owner())) {
            LOG.info("volume {}: {} dirty bytes recovered from flash are current (this host is still the owner, epoch {})",
                    cache.name(), dirty, record.epoch());
            return record;
        }
        if (record != null && record.state() == VolumeState.TAKEOVER) {
            // A holder won the volume but has not finished destaging (it may have died or been fenced mid-way):
            // this host's copy may be the only complete one left, so it is not thrown away — but it is not served
            // either: claim() waits for the takeover, and once it has finished this data is reconciled as stale.
            LOG.warn("volume {}: {} dirty bytes recovered from flash are kept: host {} took the volume over (epoch {}) but has"
                    + " not finished", cache.name(), dirty, record.owner(), record.epoch());
            return record;
        }
        LOG.warn("volume {}: {} dirty bytes recovered from flash are stale — the volume was taken over while this host was"
                + " away (owner now {}, epoch {}); discarding them", cache.name(), dirty,
                record == null ? "unknown" : record.owner(), record == null ? -1 : record.epoch());
        long blocks = (volumeBytes + 4095) / 4096;
        int chunk = 1 << 30;
        try {
            for (long first = 0; first < blocks; first += chunk) {
                cache.invalidate(first, (int) Math.min(chunk, blocks - first)).get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted discarding stale data of volume " + cache.name(), e);
        } catch (ExecutionException e) {
            throw new IOException("cannot discard stale data of volume " + cache.name() + ": " + e.getCause(), e.getCause());
        }
        return record;
    }

    /** Another host owns the volume, or its takeover is unfinished: this host cannot serve it now. */
    static final class NotServableNow extends IOException {
        private static final long serialVersionUID = 1L;

        NotServableNow(String message) {
            super(message);
        }
    }

    /** The volume's record changed between {@link #reconcile} and {@link #claim}: reconcile again. */
    static final class RecordChanged extends IOException {
        private static final long serialVersionUID = 1L;

        RecordChanged(String volume) {
            super("the record of volume '" + volume + "' changed while this host was claiming it");
        }
    }

    /**
     * @param hasOwnDirtyData this host recovered dirty data for the volume that reconcile kept: it keeps its
     *                        replica set, whose members hold that data's second copies
     * @param current         the record reconcile decided on; the claim fails with {@link RecordChanged} if the
     *                        record has changed since
     */
    static VolumeReplication claim(ClusterMembership membership, String volume, int replicas, boolean hasOwnDirtyData,
                                   VolumeRecord current) throws IOException {
        Cluster cluster = membership.cluster();
        if (current == null) {
            throw new IOException("volume '" + volume + "' has no record in the cluster");
        }
        List<Member> live = cluster.hosts();
        ReplicaPlacement.Placement placement;
        boolean keptSet = hasOwnDirtyData && cluster.hostId().equals(current.owner())
                && !current.replicaSet().isEmpty();
        if (keptSet) {
            // A returning owner keeps its replica set as it is, live or not: those hosts hold the replicas of the dirty
            // data it recovered. A new peer would not have them, and the old ones, dropped, would release them as
            // obsolete — leaving the recovered data with no second copy. With members down it runs degraded (writes
            // acknowledged once destaged) until it is restarted with them live.
            List<String> set = current.replicaSet();
            int liveMembers = (int) set.stream().filter(k -> live.stream().anyMatch(m -> m.hostId().equals(k))).count();
            placement = new ReplicaPlacement.Placement(set, Math.max(0, replicas - liveMembers), false);
        } else {
            placement = ReplicaPlacement.choose(cluster.hostId(), replicas, live);
        }
        String notClaimable = notClaimableReason(current, cluster.hostId(), cluster.lease().sessionId(), live);
        if (notClaimable != null) {
            throw new NotServableNow(notClaimable);
        }
        // Peers join before the claim, at the epoch it will have: a fresh peer that cannot be reached stays out of
        // the record (a record member holds valid copies; simulation seed 19238). A kept set stays whole.
        long epoch = current.epoch() + 1;
        List<PeerClient> peers = new ArrayList<>();
        List<String> members = new ArrayList<>();
        List<Long> absent = new ArrayList<>();
        for (String peerHost : placement.peers()) {
            Member m = live.stream().filter(x -> x.hostId().equals(peerHost)).findFirst().orElse(null);
            PeerClient peer = m == null ? null : join(membership, volume, epoch, m,
                    keptSet ? NO_RELEASE : ReleaseTracker.lastSequenceOf(epoch - 1));
            if (peer != null) {
                peers.add(peer);
                members.add(peerHost);
            } else if (keptSet) {
                // A member that is down or does not answer: the volume runs degraded, and the member misses every
                // write — it leaves the record before the first of them is acknowledged.
                absent.add(ClusterSpec.peerId(peerHost));
                members.add(peerHost);
            }
        }
        VolumeState state = peers.size() >= replicas ? VolumeState.ACTIVE : VolumeState.DEGRADED;
        CasOutcome claimed = cluster.claimOwnership(current, state, members);
        if (!claimed.won() || claimed.current().epoch() != epoch) {
            peers.forEach(PeerClient::close);
            VolumeRecord r = claimed.current();
            if (r.version() != current.version()) {
                throw new RecordChanged(volume);
            }
            throw new NotServableNow(liveOwnerReason(r));
        }
        if (state == VolumeState.DEGRADED) {
            LOG.warn("volume {}: only {} of {} replica peers are live; writes without every copy go through to the backing store",
                    volume, peers.size(), replicas);
        }
        LOG.info("volume {}: owned by this host at epoch {}, replicas on {}", volume, epoch, members);
        // Acting needs the lease of the very session that claimed: after a session loss a new session is not the owner.
        long session = claimed.current().ownerSession();
        return new VolumeReplication(ClusterSpec.peerId(cluster.hostId()), () -> epoch, new ReplicaSet(peers, replicas, absent),
                ReleaseTracker.forEpoch(epoch), () -> cluster.mayAct() && cluster.lease().sessionId() == session,
                ids -> dropPeers(cluster, volume, epoch, ids), upTo -> addPeer(membership, volume, epoch, replicas, upTo));
    }

    /**
     * Why {@code me} (in {@code session}) cannot claim {@code current} now, or null when it may: a
     * live host owns it (then only that host can give it up), or another host owned it and left it
     * unclean, or a takeover of it is unfinished (also one this host won). {@code live} must be read
     * after {@code current} (see {@link RecordRules#mayClaim}).
     */
    private static String notClaimableReason(VolumeRecord current, String me, long session, List<Member> live) {
        boolean mine = me.equals(current.owner()) && current.ownerSession() == session;
        if (!mine && !RecordRules.mayClaim(current, me, session, live)) {
            return liveOwnerReason(current);
        }
        if (current.owner() != null && current.state() != VolumeState.CLEAN
                && (!current.owner().equals(me) || current.state() == VolumeState.TAKEOVER)) {
            // (Also when this host itself won a takeover it has not finished: its replicas are not on the backing store.)
            // A dead owner's acknowledged writes are on its replica holders, not on the backing store yet: serving
            // now would read stale data (I3), and its holders would then drop those writes as obsolete (I1). Even an
            // owner returning with its own dirty data waits for an unfinished takeover of it: claiming back, it would
            // replay its older flush epochs over blocks the takeover already wrote newer (simulation seed 13584),
            // and its new peers would drop the holders' copies of that data (seed 659).
            return "volume '" + current.name() + "' was owned by host " + current.owner() + " (epoch " + current.epoch()
                    + ", " + current.state() + ") and is not clean yet; it can be served once a replica holder has taken it"
                    + " over and destaged it";
        }
        return null;
    }

    private static String liveOwnerReason(VolumeRecord r) {
        return "volume '" + r.name() + "' is owned by live host " + r.owner() + " (epoch " + r.epoch()
                + "); stop it there first, or let its session expire for a takeover";
    }

    /**
     * The cheap check a waiting volume ({@link PendingVolumes}) makes before it is opened again: why
     * {@link #claim} would refuse the volume now, judged on its record and the live hosts alone (no
     * backing store opened, no peer contacted), or null when it may succeed — then the full open
     * (reconcile, claim) decides. The same rules and words as {@link #claim}.
     */
    static String waitingReason(Cluster cluster, String volume) {
        VolumeRecord r = cluster.volume(volume).orElse(null);
        if (r == null) {
            return null; // The open says what is wrong.
        }
        List<Member> live = cluster.hosts(); // after the record: see RecordRules.mayClaim
        return notClaimableReason(r, cluster.hostId(), cluster.lease().sessionId(), live);
    }

    /**
     * Re-replication (issue 4, item 4): a live host outside the replica set (other fault domains
     * first, most free flash) joins it — connected, this owner's older replicas released there, then
     * named in the record by compare-and-set (ACTIVE once the set is full again). Its copies count
     * for writes numbered after {@code releaseUpTo}; the dirty data from before is on the backing
     * store by the time the last of those writes is acknowledged (they wait for it).
     */
    private static PeerClient addPeer(ClusterMembership membership, String volume, long epoch, int replicas, long releaseUpTo)
            throws IOException {
        Cluster cluster = membership.cluster();
        VolumeRecord r = cluster.volume(volume).orElseThrow(() -> new IOException("volume record '" + volume + "' vanished"));
        if (!cluster.hostId().equals(r.owner()) || r.epoch() != epoch) {
            throw new IOException("volume '" + volume + "' is no longer this host's at epoch " + epoch);
        }
        if (r.replicaSet().size() >= replicas) {
            return null; // A member that failed has not left the record yet.
        }
        List<Member> live = cluster.hosts();
        // A peer that just failed may still look live (its session has not expired yet): try the next best then.
        java.util.Set<String> tried = new java.util.HashSet<>();
        while (true) {
            ReplicaPlacement.Placement p = ReplicaPlacement.choose(cluster.hostId(), replicas,
                    live.stream().map(Member::info).toList(), r.replicaSet(), tried);
            String candidate = p.peers().stream().filter(h -> !r.replicaSet().contains(h)).findFirst().orElse(null);
            if (candidate == null) {
                return null;
            }
            tried.add(candidate);
            Member m = live.stream().filter(x -> x.hostId().equals(candidate)).findFirst().orElseThrow();
            PeerClient peer = join(membership, volume, epoch, m, releaseUpTo);
            if (peer == null) {
                continue;
            }
            List<String> set = new ArrayList<>(r.replicaSet());
            set.add(candidate);
            if (cluster.compareAndSet(r, r.withState(set.size() >= replicas ? VolumeState.ACTIVE : VolumeState.DEGRADED, set)).won()) {
                LOG.info("volume {}: host {} joined the replica set, now {}", volume, candidate, set);
                return peer;
            }
            peer.close();
            throw new IOException("volume '" + volume + "': its record changed while host " + candidate + " was joining");
        }
    }

    /**
     * Connects to a replica peer; null if it cannot be reached. A peer new to the replica set
     * ({@code fresh}) may still hold this host's replicas of the volume from an earlier epoch, whose
     * release never reached it (it was cut off, then dropped from the set): they are released —
     * durably — before the peer counts as a copy, or a takeover by it would destage them over newer
     * data (simulation seed 1766). A kept set's members hold the recovered dirty data's copies: kept.
     */
    private static PeerClient join(ClusterMembership membership, String volume, long epoch, Member m, long releaseUpTo) {
        PeerClient peer = null;
        try {
            peer = membership.peerConnector().connect(address(m.info().peerAddress()), ClusterSpec.peerId(m.hostId()))
                    .get(CONNECT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (releaseUpTo != NO_RELEASE) {
                peer.release(new Release(ClusterSpec.peerId(membership.cluster().hostId()), FlashCache.volumeId(volume), epoch,
                        releaseUpTo, List.of())).get(CONNECT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            }
            return peer;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.warn("volume {}: replica peer {} cannot be used: {}", volume, m.hostId(),
                    String.valueOf(e.getCause() != null ? e.getCause() : e));
        }
        if (peer != null) {
            peer.close();
        }
        return null;
    }

    /**
     * A graceful stop: the volume is clean on the backing store, so its record is given up (no owner,
     * CLEAN, epoch + 1) and any host may serve it at once; its holders then release their replicas.
     */
    static void release(Cluster cluster, String volume, long epoch) {
        VolumeRecord r = cluster.volume(volume).orElse(null);
        if (r == null || !cluster.hostId().equals(r.owner()) || r.epoch() != epoch) {
            return;
        }
        if (cluster.compareAndSet(r, r.released()).won()) {
            LOG.info("volume {}: clean; ownership given up (epoch {})", volume, epoch + 1);
        }
    }

    /**
     * Takes peers out of the volume's replica set (state DEGRADED, same epoch) by compare-and-set. A
     * record that no longer names this host at {@code epoch} means this host was fenced: the write
     * that found the failed peer must not be acknowledged.
     */
    private static void dropPeers(Cluster cluster, String volume, long epoch, List<Long> peerIds) throws IOException {
        for (int attempt = 0; attempt < 10; attempt++) {
            VolumeRecord r = cluster.volume(volume).orElseThrow(() -> new IOException("volume record '" + volume + "' vanished"));
            if (!cluster.hostId().equals(r.owner()) || r.epoch() != epoch) {
                throw new IOException("volume '" + volume + "' is no longer this host's at epoch " + epoch + " (owner " + r.owner()
                        + ", epoch " + r.epoch() + ")");
            }
            List<String> kept = r.replicaSet().stream().filter(h -> !peerIds.contains(ClusterSpec.peerId(h))).toList();
            if (kept.size() == r.replicaSet().size()) {
                return;
            }
            if (cluster.compareAndSet(r, r.withState(VolumeState.DEGRADED, kept)).won()) {
                LOG.warn("volume {}: replica set now {} (a peer failed a write)", volume, kept);
                return;
            }
        }
        throw new IOException("volume '" + volume + "': could not update its replica set (the record keeps changing)");
    }

    private static InetSocketAddress address(String hostPort) {
        HostPort hp = HostPort.parse(hostPort, "peer address", new ArrayList<>());
        if (hp == null) {
            throw new IllegalArgumentException("bad peer address '" + hostPort + "'");
        }
        return new InetSocketAddress(hp.host(), hp.port());
    }
}
