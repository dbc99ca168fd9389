package io.flashvisor.node;

import io.flashvisor.cache.engine.FlashCache;
import io.flashvisor.cache.engine.ReplicaStore;
import io.flashvisor.cluster.Cluster;
import io.flashvisor.cluster.Member;
import io.flashvisor.cluster.VolumeRecord;
import io.flashvisor.cluster.VolumeState;
import io.flashvisor.replication.owner.ReleaseTracker;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica holder's two background duties (issue 4, items 5 and 6), checked every second:
 * <ul>
 * <li><b>Takeover</b>: a volume whose owner's session is gone and of which this host holds
 *     replicas is taken over ({@link Takeover}): win the next epoch, destage, release. With two
 *     holders both try; the compare-and-set lets exactly one win.</li>
 * <li><b>Obsolete replicas</b>: replicas of a volume whose record no longer names their origin as
 *     owner and is not in TAKEOVER (the takeover finished: it was destaged and released clean, or
 *     served since) can never be needed again; they are released so the cleaner can reuse their
 *     segments. During a TAKEOVER every holder keeps its copy: the winner may still fail.</li>
 * <li><b>Resume</b>: a takeover this host won but did not finish (its lease lapsed mid-way, it
 *     crashed and came back) is finished, claiming the volume again in the new session.</li>
 * </ul>
 * Polling, not watches: a second of delay is small next to the session timeout a takeover must
 * wait for anyway, and a poll cannot miss an event.
 */
final class TakeoverWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TakeoverWatcher.class);
    private static final long PERIOD_MILLIS = 1000;

    private final Node node;
    private final Thread thread;
    private volatile boolean running = true;

    private TakeoverWatcher(Node node) {
        this.node = node;
        this.thread = Thread.ofPlatform().daemon().name("takeover-watcher").unstarted(this::run);
    }

    static TakeoverWatcher start(Node node) {
        TakeoverWatcher w = new TakeoverWatcher(node);
        w.thread.start();
        return w;
    }

    private void run() {
        while (running) {
            try {
                Thread.sleep(PERIOD_MILLIS);
                check();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("takeover watcher: {}", e.toString());
            }
        }
    }

    private void check() {
        Cluster cluster = node.cluster();
        ReplicaStore store = node.replicaStore();
        if (!cluster.mayAct()) {
            return;
        }
        List<Member> live = cluster.hosts();
        String me = cluster.hostId();
        for (VolumeRecord r : cluster.volumes()) {
            long volumeId = FlashCache.volumeId(r.name());
            releaseObsolete(r, volumeId, store);
            if (r.owner() == null || !r.replicaSet().contains(me) && !r.owner().equals(me)) {
                continue;
            }
            if (r.state() == VolumeState.TAKEOVER && r.owner().equals(me)) {
                if (!Takeover.running(r.name())) {
                    resume(r); // This host won it but did not finish.
                }
                continue;
            }
            boolean ownerLive = live.stream().anyMatch(m -> m.hostId().equals(r.owner()) && m.sessionId() == r.ownerSession());
            if (ownerLive || r.owner().equals(me)) {
                continue;
            }
            // The owner is gone and this host is in its replica set — or the host that was taking the volume over died
            // too, and this host is one of the other holders its TAKEOVER record names: take over — even holding nothing
            // (everything was destaged and released), so that the volume becomes clean and servable again.
            if (r.backing() == null) {
                LOG.warn("volume {}: its owner {} is gone but its record names no backing store; run 'flashvisor takeover'",
                        r.name(), r.owner());
                continue;
            }
            try {
                Takeover.run(node, r.name(), r.backing());
            } catch (IllegalArgumentException | java.io.IOException ex) {
                LOG.info("volume {}: takeover not done now: {}", r.name(), ex.getMessage());
            }
        }
    }

    /**
     * Releases replicas here that can never be needed again: their origin no longer owns the volume
     * and no takeover is pending (it finished, was released clean or served since).
     */
    private static void releaseObsolete(VolumeRecord r, long volumeId, ReplicaStore store) {
        for (long origin : store.origins(volumeId)) {
            boolean originOwns = r.owner() != null && ClusterSpec.peerId(r.owner()) == origin;
            if (r.state() == VolumeState.TAKEOVER && !originOwns) {
                continue; // Keep every copy until the takeover has finished: its winner may still fail.
            }
            if (originOwns) {
                // Also when this host left the set: the origin may add it back in this epoch (re-replication) and
                // then release exactly what it must (VolumeOwnership.addPeer); a release "to the end of the epoch"
                // here would make this host ignore the new writes (simulation seed 8100). Out of the set, its copy
                // is never used for a takeover.
                continue;
            }
            LOG.info("volume {}: releasing replicas of host {} here (owner {}, epoch {}, replica set {})", r.name(),
                    Long.toHexString(origin), r.owner(), r.epoch(), r.replicaSet());
            store.release(origin, volumeId, Long.MAX_VALUE);
        }
    }

    /** A takeover of this host's that stopped (lease lapsed, crash, restart): finish it. */
    private void resume(VolumeRecord r) {
        if (r.backing() == null) {
            return;
        }
        try {
            Takeover.resume(node, r);
        } catch (IllegalArgumentException | java.io.IOException ex) {
            LOG.info("volume {}: takeover not resumed now: {}", r.name(), ex.getMessage());
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
