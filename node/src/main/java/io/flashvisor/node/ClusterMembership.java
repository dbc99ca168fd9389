package io.flashvisor.node;

import io.flashvisor.cache.engine.FlashCache;
import io.flashvisor.cache.engine.ReplicaStore;
import io.flashvisor.cluster.Cluster;
import io.flashvisor.cluster.ClusterException;
import io.flashvisor.cluster.EmbeddedZooKeeper;
import io.flashvisor.cluster.HostInfo;
import io.flashvisor.cluster.VolumeRecord;
import io.flashvisor.cluster.ZooKeeperCluster;
import io.flashvisor.cluster.ZooKeeperClusterConfig;
import io.flashvisor.common.Closeables;
import io.flashvisor.node.volume.FlashDevice;
import io.flashvisor.replication.store.FlashReplicaSink;
import io.flashvisor.replication.transport.PeerConnector;
import io.flashvisor.replication.transport.ReplicationServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's part in the cluster: the embedded ZooKeeper (if configured), the ZooKeeper session, the
 * replication server that keeps peers' replicas in this host's flash log, and the connector this
 * host uses to reach its peers.
 *
 * <p>{@link #join} starts them in that order, registers the host and creates a record for each
 * configured volume that has none; on failure it closes what it opened and says which part failed.
 * {@link #close} closes in reverse order: peer connector, replication server, cluster session (the
 * host record vanishes at once), embedded ZooKeeper last.
 */
public final class ClusterMembership implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterMembership.class);

    private final ClusterSpec spec;
    private final EmbeddedZooKeeper embedded;
    private final Cluster cluster;
    private final ReplicationServer replication;
    private final PeerConnector connector;
    private final ReplicaStore replicaStore;
    private final HostInfo self;
    private final String connectString;

    private ClusterMembership(ClusterSpec spec, EmbeddedZooKeeper embedded, String connectString, Cluster cluster,
                              ReplicationServer replication, PeerConnector connector, ReplicaStore replicaStore, HostInfo self) {
        this.spec = spec;
        this.embedded = embedded;
        this.connectString = connectString;
        this.cluster = cluster;
        this.replication = replication;
        this.connector = connector;
        this.replicaStore = replicaStore;
        this.self = self;
    }

    /**
     * Joins the cluster {@code spec} names with this host's {@code flash} device, and makes sure every
     * volume of {@code volumes} has a record.
     */
    static ClusterMembership join(ClusterSpec spec, FlashDevice flash, List<VolumeSpec> volumes) throws IOException {
        List<AutoCloseable> opened = new ArrayList<>(); // in closing order
        try {
            EmbeddedZooKeeper embedded = null;
            String connect = spec.zookeeper();
            if (spec.embeddedZooKeeper() != null) {
                ClusterSpec.EmbeddedZooKeeperSpec e = spec.embeddedZooKeeper();
                try {
                    embedded = EmbeddedZooKeeper.start(e.dir(), e.port(), EmbeddedZooKeeper.DEFAULT_TICK);
                } catch (RuntimeException ex) {
                    throw new IOException("cluster: cannot start the embedded ZooKeeper (dir " + e.dir() + ", port " + e.port()
                            + "): " + ex.getMessage(), ex);
                }
                opened.addFirst(embedded);
                connect = embedded.connectString();
            }

            Cluster cluster;
            try {
                cluster = ZooKeeperCluster.connect(new ZooKeeperClusterConfig(connect, spec.name(), spec.hostId(),
                        spec.sessionTimeout(), ZooKeeperClusterConfig.DEFAULT_CONNECTION_TIMEOUT,
                        ZooKeeperClusterConfig.DEFAULT_LEASE_FRACTION));
            } catch (RuntimeException ex) {
                throw new IOException("cluster: cannot connect to ZooKeeper at " + connect + ": " + ex.getMessage(), ex);
            }
            opened.addFirst(cluster);

            ReplicaStore store = flash.cache().replicas();
            ReplicationServer replication;
            try {
                replication = ReplicationServer.start(ReplicationServer.Settings.of(spec.peerListen().host(), spec.peerListen().port(),
                        spec.peerId(), spec.secret()).withTls(spec.peerTls()), new FlashReplicaSink(store));
            } catch (IOException | RuntimeException ex) {
                throw new IOException("cluster: cannot start the replication server on " + spec.peerListen().host() + ":"
                        + spec.peerListen().port() + ": " + ex.getMessage(), ex);
            }
            opened.addFirst(replication);
            warnIfInClear(spec, replication.address());
            PeerConnector connector = PeerConnector.create(PeerConnector.Settings.of(spec.peerId(), spec.secret())
                    .withTls(spec.peerTls()));
            opened.addFirst(connector);

            HostInfo self;
            try {
                long capacity = flashCapacityBytes(flash.cache());
                self = new HostInfo(spec.hostId(), peerAddress(spec, replication.address()), capacity,
                        freeFlashBytes(flash.cache()), spec.faultDomain());
                cluster.register(self);
            } catch (RuntimeException ex) {
                throw new IOException("cluster: cannot register host '" + spec.hostId() + "' in cluster '" + spec.name() + "': "
                        + ex.getMessage(), ex);
            }
            LOG.info("joined cluster {} as host {} (peer address {}, fault domain {}, ZooKeeper {}, session 0x{})", spec.name(),
                    spec.hostId(), self.peerAddress(), spec.faultDomain(), connect, Long.toHexString(cluster.lease().sessionId()));

            for (VolumeSpec v : volumes) {
                ensureRecord(cluster, v, spec.replicas(v.name()));
            }
            return new ClusterMembership(spec, embedded, connect, cluster, replication, connector, store, self);
        } catch (IOException | RuntimeException e) {
            Closeables.closeAllAfter(e, opened);
            throw e;
        }
    }

    /**
     * Without {@code peer-tls}, one WARN line at start: peer traffic is authenticated and
     * integrity-protected (HMAC) but readable by anyone on the path — unless the listener is on
     * loopback, where only this machine can see it. Returns whether it warned.
     */
    static boolean warnIfInClear(ClusterSpec spec, InetSocketAddress bound) {
        if (spec.peerTls() != null || (bound.getAddress() != null && bound.getAddress().isLoopbackAddress())) {
            return false;
        }
        LOG.warn("peer traffic on {}:{} is authenticated and integrity-protected but NOT encrypted: replicated writes cross the "
                + "network in clear; configure cluster.peer-tls (cert, key, ca) on every host to encrypt it",
                NbdUris.host(bound.getHostString()), bound.getPort());
        return true;
    }

    /** Creates the volume's record (unowned, clean, epoch 0) unless it exists; an existing record is left as it is. */
    private static void ensureRecord(Cluster cluster, VolumeSpec v, int replicas) throws IOException {
        String policy = v.policy().configName();
        try {
            VolumeRecord created = cluster.createVolume(VolumeRecord.create(v.name(), policy, replicas).withBacking(v.backing()));
            LOG.info("volume {}: record created (policy {}, replicas {})", v.name(), created.policy(), created.replicas());
        } catch (ClusterException e) {
            if (e.reason() != ClusterException.Reason.ALREADY_EXISTS) {
                throw new IOException("cluster: cannot create the record of volume '" + v.name() + "': " + e.getMessage(), e);
            }
            VolumeRecord existing = cluster.volume(v.name()).orElse(null);
            if (existing != null && (!existing.policy().equals(policy) || existing.replicas() != replicas)) {
                LOG.warn("volume {}: the cluster's record says policy {} with {} replicas, this node's config says {} with {};"
                        + " the record is kept", v.name(), existing.policy(), existing.replicas(), policy, replicas);
            } else {
                LOG.info("volume {}: record exists ({})", v.name(), existing);
            }
        } catch (RuntimeException e) {
            throw new IOException("cluster: cannot create the record of volume '" + v.name() + "': " + e.getMessage(), e);
        }
    }

    /** The address peers dial: the configured peer address (port 0 = the bound port), else the listen host and bound port. */
    static String peerAddress(ClusterSpec spec, InetSocketAddress bound) {
        HostPort configured = spec.peerAddress();
        String host = configured != null ? configured.host() : spec.peerListen().host();
        int port = configured != null && configured.port() != 0 ? configured.port() : bound.getPort();
        return NbdUris.host(host) + ":" + port;
    }

    static long flashCapacityBytes(FlashCache cache) {
        return cache.capacityBlocks() * 4096;
    }

    /**
     * Flash this host can still give to replicas of other hosts: the capacity less what is dirty and
     * the replicas it already holds (clean cached blocks can be evicted, so they count as free).
     */
    static long freeFlashBytes(FlashCache cache) {
        long blocks = cache.capacityBlocks() - cache.dirtyBlocks() - cache.replicas().liveBlocks();
        return Math.clamp(blocks, 0, cache.capacityBlocks()) * 4096;
    }

    public ClusterSpec spec() {
        return spec;
    }

    public Cluster cluster() {
        return cluster;
    }

    /** The connector this host uses to reach its peers (authenticated with the cluster secret, as {@link ClusterSpec#peerId()}). */
    public PeerConnector peerConnector() {
        return connector;
    }

    /** The replicas this host keeps for its peers, in its flash log. */
    public ReplicaStore replicaStore() {
        return replicaStore;
    }

    /** Where the replication server listens (with the bound port). */
    public InetSocketAddress replicationAddress() {
        return replication.address();
    }

    /** What this host announced when it registered. */
    public HostInfo self() {
        return self;
    }

    /** The ZooKeeper connect string in use (the embedded server's when there is one). */
    public String connectString() {
        return connectString;
    }

    /** The embedded ZooKeeper, or null when the node uses an ensemble. */
    public EmbeddedZooKeeper embeddedZooKeeper() {
        return embedded;
    }

    @Override
    public void close() throws IOException {
        List<AutoCloseable> parts = new ArrayList<>(List.of(connector, replication, cluster));
        if (embedded != null) {
            parts.add(embedded);
        }
        Closeables.closeAll(parts);
        LOG.info("left cluster {} (host {})", spec.name(), spec.hostId());
    }
}
