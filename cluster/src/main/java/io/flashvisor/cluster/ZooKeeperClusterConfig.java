package io.flashvisor.cluster;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of {@link ZooKeeperCluster}, validated once at construction.
 *
 * @param connectString     ZooKeeper ensemble, {@code host:port[,host:port...]}
 * @param clusterName       records live under {@code /flashvisor/<clusterName>}
 * @param hostId            this host
 * @param sessionTimeout    ZooKeeper session timeout T asked for (the servers clamp it to
 *                          [2, 20] × their tickTime; the negotiated value is what counts)
 * @param connectionTimeout how long to wait for a connection at start and per attempt of an operation
 * @param leaseFraction     the lease lasts this fraction of T after a request the servers answered
 *                          was sent; at most 0.6 (docs/cluster.md derives the bound)
 */
public record ZooKeeperClusterConfig(String connectString, String clusterName, String hostId, Duration sessionTimeout,
                                     Duration connectionTimeout, double leaseFraction) {
    public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(6);
    public static final Duration DEFAULT_CONNECTION_TIMEOUT = Duration.ofSeconds(2);
    public static final double DEFAULT_LEASE_FRACTION = 0.5;

    public ZooKeeperClusterConfig {
        Objects.requireNonNull(connectString, "connectString");
        if (connectString.isBlank()) {
            throw new IllegalArgumentException("cluster.zookeeper is empty: give the ensemble as host:port[,host:port...]");
        }
        HostInfo.requireName("cluster name", clusterName);
        HostInfo.requireName("host id", hostId);
        if (sessionTimeout.compareTo(Duration.ofMillis(500)) < 0 || sessionTimeout.compareTo(Duration.ofMinutes(5)) > 0) {
            throw new IllegalArgumentException("session timeout " + sessionTimeout + " must lie between 500ms and 5m (6s is usual)");
        }
        if (connectionTimeout.isNegative() || connectionTimeout.isZero()) {
            throw new IllegalArgumentException("connection timeout must be positive, not " + connectionTimeout);
        }
        if (!(leaseFraction > 0 && leaseFraction <= 0.6)) {
            throw new IllegalArgumentException("lease fraction " + leaseFraction + " must lie in (0, 0.6]; see docs/cluster.md");
        }
    }

    public static ZooKeeperClusterConfig of(String connectString, String clusterName, String hostId) {
        return new ZooKeeperClusterConfig(connectString, clusterName, hostId, DEFAULT_SESSION_TIMEOUT,
                DEFAULT_CONNECTION_TIMEOUT, DEFAULT_LEASE_FRACTION);
    }

    public ZooKeeperClusterConfig withSessionTimeout(Duration t) {
        return new ZooKeeperClusterConfig(connectString, clusterName, hostId, t, connectionTimeout, leaseFraction);
    }

    public ZooKeeperClusterConfig withConnectionTimeout(Duration t) {
        return new ZooKeeperClusterConfig(connectString, clusterName, hostId, sessionTimeout, t, leaseFraction);
    }

    public ZooKeeperClusterConfig withHostId(String id) {
        return new ZooKeeperClusterConfig(connectString, clusterName, id, sessionTimeout, connectionTimeout, leaseFraction);
    }

    public String rootPath() {
        return "/flashvisor/" + clusterName;
    }
}
