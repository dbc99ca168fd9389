package io.flashvisor.node;

import io.flashvisor.backing.BackingOptions;
import io.flashvisor.backing.BackingStores;
import io.flashvisor.cache.engine.ReplicaStore;
import io.flashvisor.cache.engine.VolumeCache;
import io.flashvisor.cluster.Cluster;
import io.flashvisor.cluster.VolumeRecord;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.ByteSize;
import io.flashvisor.common.Closeables;
import io.flashvisor.nbd.Export;
import io.flashvisor.nbd.ExportCatalog;
import io.flashvisor.nbd.Listener;
import io.flashvisor.nbd.NbdServer;
import io.flashvisor.node.volume.CachedVolume;
import io.flashvisor.node.volume.FlashDevice;
import io.flashvisor.node.volume.VolumeReplication;
import io.flashvisor.node.metrics.MetricsServer;
import io.flashvisor.node.metrics.NodeMetrics;
import io.flashvisor.replication.transport.PeerConnector;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Flashvisor process on one host: the composition root that opens every volume's backing
 * store, publishes the volumes as NBD exports and runs the listeners.
 *
 * <p>Lifecycle: {@link #start} opens everything or nothing (a failure closes what was opened and
 * says which part, volume or listener failed): the flash device, then — with a {@code cluster:}
 * section — the cluster membership ({@link ClusterMembership}: embedded ZooKeeper, ZooKeeper
 * session, replication server, host registration, volume records), then the volumes, the NBD
 * listeners, the control socket and the HTTP metrics endpoint (if configured). A replicated volume
 * that another host still owns (or whose takeover is unfinished) does not fail the start: it waits
 * ({@link PendingVolumes}), is tried again every second, and once claimed is opened the same way and
 * its export added to the running server.
 * {@link #close} stops those tries, stops accepting, drains in-flight I/O, closes the volumes (also
 * those claimed late), leaves the cluster (replication server, session, embedded ZooKeeper last) and
 * closes the flash device. {@code close()} is idempotent and may be called from a shutdown hook.
 */
public final class Node implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Node.class);

    private final NodeSettings settings;
    private final FlashDevice flash;
    private final ClusterMembership membership;
    /** Every open volume; grows when a waiting volume is claimed ({@link #publish}). */
    private final List<BlockVolume> volumes;
    /** The cached volumes by name in configuration order: an immutable snapshot, replaced when one is added. */
    private volatile Map<String, CachedVolume> cached;
    private final ExportCatalog catalog;
    private final PendingVolumes pending;
    /** Orders {@link #publish} against {@link #close}: once closing, no volume is added. */
    private final Object lifecycle = new Object();
    private final NbdServer server;
    private volatile ControlServer control;
    private volatile TakeoverWatcher watcher;
    private volatile FreeFlashPublisher freeFlash;
    private volatile LatencyHarvester harvester;
    private volatile MetricsServer metrics;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);

    private Node(NodeSettings settings, FlashDevice flash, ClusterMembership membership, List<BlockVolume> volumes,
                 ExportCatalog catalog, PendingVolumes pending, NbdServer server) {
        this.settings = settings;
        this.flash = flash;
        this.membership = membership;
        this.volumes = new CopyOnWriteArrayList<>(volumes);
        this.catalog = catalog;
        this.pending = pending;
        this.server = server;
        this.cached = cachedByName(this.volumes);
    }

    private Map<String, CachedVolume> cachedByName(List<BlockVolume> open) {
        Map<String, CachedVolume> byName = new LinkedHashMap<>();
        for (VolumeSpec spec : settings.volumes()) {
            for (BlockVolume v : open) {
                if (v instanceof CachedVolume c && c.name().equals(spec.name())) {
                    byName.put(c.name(), c);
                }
            }
        }
        return Collections.unmodifiableMap(byName);
    }

    public static Node start(NodeSettings settings) throws IOException {
        List<AutoCloseable> opened = new ArrayList<>();
        List<BlockVolume> volumes = new ArrayList<>();
        if (!io.flashvisor.common.Failpoints.all().isEmpty()) {
            log.error("PLANTED BUGS ARE ON (-D{}={}): this node may lose or corrupt data; for negative-control tests only",
                    io.flashvisor.common.Failpoints.PROPERTY, io.flashvisor.common.Failpoints.all());
        }
        try {
            FlashSpec fs = settings.flash();
            FlashDevice flash = null;
            if (fs != null) {
                flash = FlashDevice.open(fs.device(), fs.size(), fs.direct(), fs.eviction());
                opened.add(flash);
                log.info("flash device {} opened: {} of cache, eviction {}", fs.device(),
                        ByteSize.format(flash.cache().capacityBlocks() * 4096), fs.eviction());
            }
            ClusterMembership membership = null;
            if (settings.cluster() != null) {
                if (flash == null) {
                    throw new IOException("cluster: a cluster node needs a flash device (it keeps its peers' replicas there)");
                }
                membership = ClusterMembership.join(settings.cluster(), flash, settings.volumes());
                opened.addFirst(membership); // Leaves the cluster before the flash device closes.
            }
            ExportCatalog catalog = new ExportCatalog();
            PendingVolumes pending = new PendingVolumes();
            for (VolumeSpec spec : settings.volumes()) {
                BlockVolume volume;
                try {
                    volume = open(spec, flash, fs, membership, settings.cluster() == null ? 0 : settings.cluster().replicas(spec.name()));
                } catch (VolumeOwnership.NotServableNow e) {
                    // Another host's volume (or one awaiting a takeover) must not stop this host serving its others; it
                    // is tried again in the background and served once it is free.
                    pending.add(spec, e.getMessage());
                    continue;
                }
                opened.add(0, volume); // Volumes close before the flash device they use.
                volumes.add(volume);
                catalog.add(new Export(spec.name(), spec.description(), volume));
                log.info("volume opened name={} backing={} size={} policy={} readOnly={}", spec.name(), spec.backing(),
                        ByteSize.format(volume.size()), spec.policy().configName(), volume.features().readOnly());
            }
            if (flash != null) {
                flash.warnAboutUnattachedDirtyData();
            }
            NbdServer server = NbdServer.start(catalog, settings.listeners(), settings.nbd());
            Node node = new Node(settings, flash, membership, volumes, catalog, pending, server);
            opened.add(0, server);
            if (settings.control() != null) {
                node.control = ControlServer.start(settings.control(), node);
                opened.add(0, node.control);
                log.info("control socket {}", settings.control());
            }
            if (settings.metrics() != null) {
                MetricsSpec m = settings.metrics();
                node.metrics = MetricsServer.start(new InetSocketAddress(m.host(), m.port()), () -> NodeMetrics.render(node));
                opened.add(0, node.metrics);
                if (m.insecure()) {
                    log.warn("metrics {} on a non-loopback address without authentication (metrics.insecure: true): anyone who "
                            + "can reach it reads every volume's metrics", node.metrics.url());
                } else {
                    log.info("metrics {}", node.metrics.url());
                }
            }
            if (membership != null && settings.cluster().autoTakeover()) {
                node.watcher = TakeoverWatcher.start(node);
            }
            if (membership != null) {
                node.freeFlash = FreeFlashPublisher.start(membership, flash.cache());
            }
            for (Listener l : settings.listeners()) {
                log.info("listening on {} uri={}", l, node.uri(l, ""));
            }
            if (flash != null) {
                node.harvester = LatencyHarvester.start(node::cachedVolumes);
            }
            pending.start(node::serveIfFree); // Last: nothing above can fail any more, so close() owns it.
            return node;
        } catch (IOException | RuntimeException e) {
            Closeables.closeAllAfter(e, opened);
            throw e;
        }
    }

    private static BlockVolume open(VolumeSpec spec, FlashDevice flash, FlashSpec fs, ClusterMembership membership,
                                    int replicas) throws IOException {
        BlockVolume backing;
        try {
            backing = BackingStores.open(spec.backing(), new BackingOptions(spec.readOnly(), spec.direct()));
        } catch (IOException e) {
            throw new IOException("volume '" + spec.name() + "': cannot open backing store " + spec.backing() + ": " + e.getMessage(), e);
        }
        if (flash == null) {
            return backing;
        }
        VolumeReplication replication = null;
        try {
            // Only a volume with replicas can have been taken over by another host. What the recovered dirty data
            // is worth depends on the record, so the claim is decided on the very record reconcile saw.
            for (int attempt = 1; replicas > 0 && replication == null; attempt++) {
                VolumeCache cache = flash.cache().attach(spec.name());
                VolumeRecord seen = VolumeOwnership.reconcile(membership.cluster(), cache, backing.size());
                try {
                    replication = VolumeOwnership.claim(membership, spec.name(), replicas, cache.dirtyBlocks() > 0, seen);
                } catch (VolumeOwnership.RecordChanged e) {
                    if (attempt == 5) {
                        throw e;
                    }
                }
            }
        } catch (VolumeOwnership.NotServableNow e) {
            backing.close();
            throw e;
        } catch (IOException | RuntimeException e) {
            backing.close();
            throw new IOException("volume '" + spec.name() + "': cannot become its owner: " + e.getMessage(), e);
        }
        try {
            return new CachedVolume(spec.name(), backing, flash, spec.policy(), fs.sequentialCutoff(), fs.destage(), replication);
        } catch (IOException | RuntimeException e) {
            backing.close();
            throw new IOException("volume '" + spec.name() + "': cannot attach to flash device " + flash + ": " + e.getMessage(), e);
        }
    }

    /**
     * One try to serve a volume that could not be claimed at start ({@link PendingVolumes}): a cheap
     * look at its record first; when it may be free, the same {@link #open} as at start (reconcile,
     * claim, {@code CachedVolume}), then its export joins the running server's catalog.
     *
     * @return null when it is served now, otherwise why it still waits
     */
    private String serveIfFree(VolumeSpec spec) {
        Cluster cluster = membership.cluster();
        if (!cluster.mayAct()) {
            return "this host cannot claim volumes now: its cluster session is in doubt or its lease lapsed";
        }
        String why = VolumeOwnership.waitingReason(cluster, spec.name());
        if (why != null) {
            return why;
        }
        BlockVolume volume;
        try {
            volume = open(spec, flash, settings.flash(), membership, replicas(spec.name()));
        } catch (IOException e) { // VolumeOwnership.NotServableNow, or the volume cannot be opened now
            return e.getMessage();
        }
        if (!publish(spec, volume)) {
            // The node began to stop while the volume was being claimed: give it up again, as a stop does.
            if (volume instanceof CachedVolume c) {
                release(c);
            }
            try {
                volume.close();
            } catch (IOException | RuntimeException e) {
                log.warn("volume {}: close failed: {}", spec.name(), e.toString());
            }
            return "this node is stopping";
        }
        return null;
    }

    /** Adds a volume claimed after start to the node and its export to the running server; false once closing. */
    private boolean publish(VolumeSpec spec, BlockVolume volume) {
        synchronized (lifecycle) {
            if (closed.get()) {
                return false;
            }
            volumes.add(volume);
            log.info("volume opened name={} backing={} size={} policy={} readOnly={}", spec.name(), spec.backing(),
                    ByteSize.format(volume.size()), spec.policy().configName(), volume.features().readOnly());
            pending.served(spec.name()); // Before it shows among the served: never listed as served and waiting at once.
            cached = cachedByName(volumes);
            catalog.add(new Export(spec.name(), spec.description(), volume)); // Last: clients see a volume close() knows.
        }
        return true;
    }

    /**
     * A graceful stop gives up the replicated volumes this host owns once they are clean (destaged at
     * full speed, up to the drain timeout): otherwise their records would name a dead owner and only a
     * takeover could free them. A volume still dirty after the timeout stays owned; its holders take
     * it over.
     */
    private void releaseOwnedVolumes() {
        if (membership == null) {
            return;
        }
        for (CachedVolume v : cached.values()) {
            if (!release(v)) {
                return;
            }
        }
    }

    /** {@link #releaseOwnedVolumes} for one volume; false if interrupted. */
    private boolean release(CachedVolume v) {
        long epoch = v.ownerEpoch();
        if (membership == null || epoch < 0) {
            return true;
        }
        try {
            if (v.awaitClean(settings.nbd().drainTimeout())) {
                VolumeOwnership.release(membership.cluster(), v.name(), epoch);
            } else {
                log.warn("volume {}: still dirty after {}; it stays owned and its replica holders take it over", v.name(),
                        settings.nbd().drainTimeout());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (RuntimeException e) {
            log.warn("volume {}: could not give up ownership: {}", v.name(), e.toString());
        }
        return true;
    }

    /** The flash device, or null when the node runs without one. */
    public FlashDevice flash() {
        return flash;
    }

    /**
     * The volumes that use flash and are served, by name, in configuration order: a snapshot (a
     * volume claimed after start appears in later snapshots).
     */
    public Map<String, CachedVolume> cachedVolumes() {
        return cached;
    }

    /** Configured volumes this host does not serve yet because it cannot claim them now; tried again every second. */
    public List<WaitingVolume> waitingVolumes() {
        return pending.list();
    }

    public NodeSettings settings() {
        return settings;
    }

    /** The cluster this node joined, or null when it runs as a single host (no {@code cluster:} section). */
    public Cluster cluster() {
        return membership == null ? null : membership.cluster();
    }

    /** Everything of this node's cluster membership (replication server, secret-authenticated connector), or null. */
    public ClusterMembership membership() {
        return membership;
    }

    /** The connector to reach peers (cluster secret, this host's peer id), or null without a cluster. */
    public PeerConnector peerConnector() {
        return membership == null ? null : membership.peerConnector();
    }

    /** The replicas this host keeps for its peers in its flash log, or null without a cluster. */
    public ReplicaStore replicaStore() {
        return membership == null ? null : membership.replicaStore();
    }

    /** Peers that must hold each dirty write of {@code volume} (the config's {@code replicas}; 0 without a cluster). */
    public int replicas(String volume) {
        return settings.cluster() == null ? 0 : settings.cluster().replicas(volume);
    }

    /** The NBD URI a client uses to reach {@code export} through {@code listener}. */
    public String uri(Listener listener, String export) {
        String name = NbdUris.encodeExport(export);
        return switch (listener) {
            case Listener.Unix u -> "nbd+unix:///" + name + "?socket=" + u.path().toAbsolutePath();
            case Listener.Tcp t -> (t.tls() == null ? "nbd://" : "nbds://") + NbdUris.host(t.host()) + ":" + server.boundPort(t) + "/" + name;
        };
    }

    /** The URL of the HTTP metrics endpoint ({@code metrics.listen}, with the port it got), or null without one. */
    public String metricsUrl() {
        MetricsServer m = metrics;
        return m == null ? null : m.url();
    }

    /** Blocks until {@link #close} has finished. */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        log.info("node stopping: draining in-flight requests");
        try {
            pending.close(); // First: no waiting volume is claimed from here on.
            synchronized (lifecycle) {
                // A publish() that raced with the start of close() has finished: volumes and cached are final now.
            }
            if (watcher != null) {
                watcher.close();
            }
            if (freeFlash != null) {
                freeFlash.close();
            }
            if (harvester != null) {
                harvester.close();
            }
            Closeables.closeAll(Arrays.asList(metrics, control, server)); // null parts are skipped
            releaseOwnedVolumes();
            Closeables.closeAll(volumes);
            Closeables.closeAll(Arrays.asList(membership, flash)); // null parts are skipped
            log.info("node stopped");
        } finally {
            stopped.countDown();
        }
    }
}
