package io.flashvisor.node;

import io.flashvisor.replication.protocol.ClusterSecret;
import io.flashvisor.replication.transport.PeerTls;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * The node's {@code cluster:} section, validated ({@link ConfigLoader}). With it the node joins a
 * cluster at start: coordination through ZooKeeper (an ensemble, or one embedded in this process for
 * the demo and tests), a replication server for its peers, and a volume record per volume.
 *
 * @param name            the cluster's name: its records live under {@code /flashvisor/<name>} in ZooKeeper
 * @param hostId          this host's id in the cluster (default: the machine's host name)
 * @param zookeeper       connect string of the ensemble, or null when {@code embeddedZooKeeper} is set
 * @param embeddedZooKeeper a ZooKeeper server to run in this process, or null
 * @param sessionTimeout  ZooKeeper session timeout T (the servers may clamp it)
 * @param peerListen      where the replication server listens; port 0 = any free port
 * @param peerAddress     what other hosts dial to reach it; null = the listen host; port 0 = the bound port
 * @param secretFile      the file the cluster secret was read from
 * @param secret          the cluster secret (base64 in the file, at least 16 bytes)
 * @param faultDomain     this host's fault domain (rack, chassis)
 * @param replicas        per volume name: peers that must hold each dirty write (0, 1 or 2); volumes
 *                        not named here have 0
 * @param autoTakeover    take over a dead owner's volume when this host holds its replicas
 * @param peerTls         mutual TLS under the peer protocol (files read and checked), or null: peer
 *                        traffic authenticated and integrity-protected, but not encrypted
 */
public record ClusterSpec(String name, String hostId, String zookeeper, EmbeddedZooKeeperSpec embeddedZooKeeper,
                          Duration sessionTimeout, HostPort peerListen, HostPort peerAddress, Path secretFile,
                          ClusterSecret secret, String faultDomain, Map<String, Integer> replicas, boolean autoTakeover,
                          PeerTls peerTls) {
    public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(6);
    public static final String DEFAULT_FAULT_DOMAIN = "default";

    public ClusterSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(hostId, "hostId");
        if ((zookeeper == null) == (embeddedZooKeeper == null)) {
            throw new IllegalArgumentException("give exactly one of zookeeper and embeddedZooKeeper");
        }
        Objects.requireNonNull(sessionTimeout, "sessionTimeout");
        Objects.requireNonNull(peerListen, "peerListen");
        Objects.requireNonNull(secret, "secret");
        Objects.requireNonNull(faultDomain, "faultDomain");
        replicas = replicas == null ? Map.of() : Map.copyOf(replicas);
    }

    /**
     * A ZooKeeper server inside the node (demo, tests): a single server on loopback.
     *
     * @param dir  its data directory
     * @param port its client port; 0 = any free one
     */
    public record EmbeddedZooKeeperSpec(Path dir, int port) {
    }

    /** Peers that must hold each dirty write of {@code volume} before it is acknowledged. */
    public int replicas(String volume) {
        return replicas.getOrDefault(volume, 0);
    }

    /** This host's id on the replication protocol: {@link #peerId(String)} of {@link #hostId()}. */
    public long peerId() {
        return peerId(hostId);
    }

    /**
     * The replication protocol names hosts by a non-zero 64-bit id: the first 8 bytes (big-endian) of
     * SHA-256 of the cluster host id's UTF-8 bytes (1 if that is 0). Every host derives a peer's id
     * from the {@code hostId} of its membership record, to insist on it when it connects.
     */
    public static long peerId(String hostId) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(hostId.getBytes(StandardCharsets.UTF_8));
            long id = ByteBuffer.wrap(hash, 0, Long.BYTES).getLong();
            return id == 0 ? 1 : id;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
