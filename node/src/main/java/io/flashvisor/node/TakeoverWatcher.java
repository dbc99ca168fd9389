package io.flashvisor.node;

import io.flashvisor.cache.engine.FlashCache;
import io.flashvisor.cache.engine.ReplicaStore;
import io.flashvisor.cluster.Cluster;
import io.flashvisor.cluster.Member;
import io.flashvisor.cluster.VolumeRecord;
import io.flashvisor.cluster.VolumeState;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
        Map<Long, VolumeRecord> byId = new HashMap<>();
        for (VolumeRecord r : cluster.volumes()) {
            byId.put(FlashCache.volumeId(r.name()), r);
        }
        for (Map.Entry<Long, VolumeRecord> e : byId.entrySet()) {
            VolumeRecord r = e.getValue();
            long volumeId = e.getKey();
            for (long origin : store.origins(volumeId)) {
                boolean originOwns = r.owner() != null && ClusterSpec.peerId(r.owner()) == origin;
                if (!originOwns && r.state() == VolumeState.TAKEOVER) {
                    // Another holder (or this one, see below) is taking over: keep these until it has finished.
                    if (r.owner().equals(cluster.hostId()) && !Takeover.running(r.name())) {
                        resume(r, origin);
                    }
                    continue;
                }
                boolean inReplicaSet = r.replicaSet().contains(cluster.hostId());
                if (originOwns && !inReplicaSet) {
                    // The owner dropped this host from the replica set after it failed a write: its copy is
                    // incomplete and must never be destaged; the owner's data is safe elsewhere.
                    LOG.info("volume {}: releasing replicas of host {}: this host left the replica set", r.name(), r.owner());
                    store.release(origin, volumeId, Long.MAX_VALUE);
                    continue;
                }
                if (!originOwns) {
                    LOG.info("volume {}: releasing obsolete replicas of host {} (owner now {}, epoch {})", r.name(),
                            Long.toHexString(origin), r.owner(), r.epoch());
                    store.release(origin, volumeId, Long.MAX_VALUE);
                    continue;
                }
                boolean ownerLive = live.stream().anyMatch(m -> m.hostId().equals(r.owner()) && m.sessionId() == r.ownerSession());
                if (ownerLive || r.owner().equals(cluster.hostId())) {
                    continue;
                }
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
    }

    /** A takeover of this host's that stopped (lease lapsed, crash, restart): finish it. */
    private void resume(VolumeRecord r, long origin) {
        if (r.backing() == null) {
            return;
        }
        try {
            Takeover.resume(node, r.name(), r.backing(), origin);
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
