package io.flashvisor.node;

import io.flashvisor.backing.BackingOptions;
import io.flashvisor.backing.BackingStores;
import io.flashvisor.cache.engine.FlashCache;
import io.flashvisor.cache.engine.ReplicaStore;
import io.flashvisor.cluster.CasOutcome;
import io.flashvisor.cluster.Cluster;
import io.flashvisor.cluster.VolumeRecord;
import io.flashvisor.cluster.VolumeState;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.node.volume.TakeoverDestage;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica holder takes over a volume whose owner died (issue 4, item 5; started by the operator
 * with {@code flashvisor takeover} for now): win the volume's next epoch by compare-and-set — which
 * the cluster grants only once the old owner's session has expired, so it is fenced — then write
 * the newest replica of every block to the backing store ({@link TakeoverDestage}), flush, release,
 * and give the volume up clean (epoch + 1 again), so any host can serve it next (I3: the backing
 * store now holds every acknowledged write).
 */
final class Takeover {
    private static final Logger LOG = LoggerFactory.getLogger(Takeover.class);
    private static final java.util.Set<String> RUNNING = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private Takeover() {
    }

    static Map<String, Object> run(Node node, String volume, String backingUri) throws IOException {
        Cluster cluster = node.cluster();
        if (cluster == null) {
            throw new IllegalArgumentException("this node is not in a cluster (its config has no 'cluster:' section)");
        }
        VolumeRecord before = cluster.volume(volume).orElseThrow(() -> new IllegalArgumentException("no volume record '" + volume + "'"));
        if (before.owner() == null) {
            throw new IllegalArgumentException("volume '" + volume + "' has no owner (epoch " + before.epoch() + "): nothing to take over");
        }
        if (before.owner().equals(cluster.hostId())) {
            throw new IllegalArgumentException("volume '" + volume + "' is owned by this host");
        }
        // The backing store first: a holder that cannot reach it must not win the epoch, which would make the volume
        // wait for it while another holder might destage at once.
        try (BlockVolume backing = openBacking(backingUri)) {
            // The other holders stay named in the TAKEOVER record: their copies are valid until it finishes (a returning
            // owner keeps them as its replica set, VolumeOwnership.claim).
            CasOutcome won = cluster.takeOver(volume, before.replicaSet().stream().filter(h -> !h.equals(cluster.hostId())).toList());
            if (!won.won()) {
                throw new IllegalArgumentException("volume '" + volume + "' is still owned by live host " + won.current().owner()
                        + " (epoch " + won.current().epoch() + "); a takeover waits until its session has expired");
            }
            return finish(node, volume, backing, won.current(), origin(node.replicaStore(), FlashCache.volumeId(volume), before),
                    before.owner());
        }
    }

    private static BlockVolume openBacking(String uri) throws IOException {
        return BackingStores.open(uri, new BackingOptions(false, false));
    }

    /**
     * Whose writes a takeover destages: the owner's — or, taking over from a host that was itself
     * taking the volume over and died (a TAKEOVER record), the origin this host holds the newest
     * ownership epoch of: the owner both were holders for (older origins' copies are obsolete).
     * 0 when this host holds nothing.
     */
    static long origin(ReplicaStore store, long volumeId, VolumeRecord before) {
        if (before.state() != VolumeState.TAKEOVER) {
            return ClusterSpec.peerId(before.owner());
        }
        long best = 0;
        int bestEpoch = -1;
        for (long origin : store.origins(volumeId)) {
            int epoch = store.versions(origin, volumeId).stream().mapToInt(ReplicaStore.Version::ownerEpoch).max().orElse(-1);
            if (epoch > bestEpoch) {
                best = origin;
                bestEpoch = epoch;
            }
        }
        return best;
    }

    /**
     * Finishes a takeover this host won earlier but did not complete (its lease lapsed mid-way, or it
     * restarted): claims the volume again — in a new session the epoch grows — and destages what it
     * holds of {@code origin}'s writes.
     */
    static Map<String, Object> resume(Node node, VolumeRecord unfinished) throws IOException {
        String volume = unfinished.name();
        try (BlockVolume backing = openBacking(unfinished.backing())) {
            CasOutcome won = node.cluster().takeOver(volume, unfinished.replicaSet());
            if (!won.won()) {
                throw new IllegalArgumentException("volume '" + volume + "' is owned by " + won.current().owner() + " now");
            }
            long origin = origin(node.replicaStore(), FlashCache.volumeId(volume), unfinished);
            return finish(node, volume, backing, won.current(), origin, Long.toHexString(origin)); // its name is not kept
        }
    }

    /** True while this process is taking {@code volume} over. */
    static boolean running(String volume) {
        return RUNNING.contains(volume);
    }

    private static Map<String, Object> finish(Node node, String volume, BlockVolume backing, VolumeRecord taken, long origin,
                                              String previousOwner) throws IOException {
        if (!RUNNING.add(volume)) {
            throw new IllegalArgumentException("a takeover of volume '" + volume + "' is already running");
        }
        Cluster cluster = node.cluster();
        long start = System.nanoTime();
        long blocks;
        try {
            // A stale owner that wakes up now gets STALE_EPOCH from this host for anything it still sends.
            node.replicaStore().noteEpoch(FlashCache.volumeId(volume), (int) taken.epoch());
            long session = taken.ownerSession(); // the session that won the epoch; a later one does not hold it
            blocks = TakeoverDestage.run(node.replicaStore(), origin, FlashCache.volumeId(volume), backing,
                    () -> cluster.mayAct() && cluster.lease().sessionId() == session);
        } finally {
            RUNNING.remove(volume);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        CasOutcome released = cluster.compareAndSet(taken, taken.released());
        LOG.info("took over volume {} from {} at epoch {}: {} blocks destaged in {} s; released: {}", volume, previousOwner,
                taken.epoch(), blocks, String.format("%.3f", seconds), released.won());
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("volume", volume);
        r.put("previousOwner", previousOwner);
        r.put("epoch", taken.epoch());
        r.put("blocksDestaged", blocks);
        r.put("seconds", seconds);
        r.put("released", released.won());
        return r;
    }
}
