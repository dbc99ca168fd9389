package io.flashvisor.node;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * A node's configuration as written in its YAML file (see README, "Configuration reference").
 * These records only carry what was written; {@link ConfigLoader} parses and validates them and
 * turns them into the settings the node runs with.
 */
public record NodeConfig(List<ListenerConfig> listeners, List<VolumeConfig> volumes, NbdConfig nbd, FlashConfig flash,
                         String control, ClusterConfig cluster, MetricsConfig metrics) {

    public NodeConfig {
        listeners = listeners == null ? List.of() : List.copyOf(listeners);
        volumes = volumes == null ? List.of() : List.copyOf(volumes);
        nbd = nbd == null ? new NbdConfig(null, null) : nbd;
    }

    /**
     * Optional: serve Prometheus metrics over HTTP (docs/observability.md).
     *
     * @param listen   HOST:PORT, loopback unless {@code insecure}; port 0 = any free port
     * @param insecure allow a non-loopback address: the endpoint has no authentication
     */
    public record MetricsConfig(String listen, Boolean insecure) {
    }

    /** Exactly one of {@code unix} and {@code tcp}. */
    public record ListenerConfig(String unix, String mode, String tcp, TlsConfig tls, Boolean insecure) {
    }

    public record TlsConfig(String certificate, String key, @JsonProperty("client-ca") String clientCa) {
    }

    /**
     * @param device            file or block device for the flash log
     * @param size              create the file at this size if it does not exist, e.g. {@code 100G}
     * @param eviction          {@code s3-fifo} (default) …
     * @param sequentialCutoff  sequential streams from this run length bypass flash, e.g. {@code 4M}; {@code 0} never
     * @param dirtyLow          dirty share of the flash below which the destager trickles, e.g. {@code 10%}
     * @param dirtyHigh         dirty share from which it runs at full speed, e.g. {@code 50%}
     */
    public record FlashConfig(String device, String size, Boolean direct, String eviction,
                              @JsonProperty("sequential-cutoff") String sequentialCutoff,
                              @JsonProperty("dirty-low") String dirtyLow, @JsonProperty("dirty-high") String dirtyHigh) {
    }

    /** @param replicas peers that hold each dirty write (write-back in a cluster): 0 (default), 1 or 2 */
    public record VolumeConfig(String name, String backing, String policy,
                               @JsonProperty("read-only") Boolean readOnly,
                               Boolean direct, String description, Integer replicas) {
    }

    /**
     * Optional: the node joins a cluster (docs/cluster.md, "Node configuration").
     *
     * @param name              cluster name
     * @param hostId            this host's id; default: the host name
     * @param zookeeper         the ensemble's connect string, {@code host:port[,host:port...]}
     * @param embeddedZookeeper or a ZooKeeper server inside this process (demo, tests)
     * @param sessionTimeout    ZooKeeper session timeout, e.g. {@code 6s}
     * @param peerListen        HOST:PORT of the replication server; port 0 = any
     * @param peerAddress       HOST:PORT other hosts dial; default the listen address
     * @param secretFile        file holding the cluster secret (base64); not group/world readable
     * @param faultDomain       rack, chassis: replicas go to other fault domains first
     * @param autoTakeover      take over a dead owner's volume automatically when this host holds its replicas (default true)
     * @param peerTls           mutual TLS for peer traffic; without it peer traffic is authenticated but not encrypted
     */
    public record ClusterConfig(String name, @JsonProperty("host-id") String hostId, String zookeeper,
                                @JsonProperty("embedded-zookeeper") EmbeddedZooKeeperConfig embeddedZookeeper,
                                @JsonProperty("session-timeout") String sessionTimeout,
                                @JsonProperty("peer-listen") String peerListen,
                                @JsonProperty("peer-address") String peerAddress,
                                @JsonProperty("secret-file") String secretFile,
                                @JsonProperty("fault-domain") String faultDomain,
                                @JsonProperty("auto-takeover") Boolean autoTakeover,
                                @JsonProperty("peer-tls") PeerTlsConfig peerTls) {
    }

    /**
     * @param cert this host's certificate (PEM, chain allowed), for TLS server and client use
     * @param key  its unencrypted PKCS#8 key (PEM); not group/world readable
     * @param ca   the CA certificate(s) (PEM) that sign every host of the cluster
     */
    public record PeerTlsConfig(String cert, String key, String ca) {
    }

    /** @param port client port on 127.0.0.1; 0 (default) = any free port */
    public record EmbeddedZooKeeperConfig(String dir, Integer port) {
    }

    /**
     * @param maxPayload   largest request payload accepted, e.g. {@code 32M}
     * @param drainTimeout how long shutdown waits for in-flight requests, e.g. {@code 30s}
     */
    public record NbdConfig(@JsonProperty("max-payload") String maxPayload,
                            @JsonProperty("drain-timeout") String drainTimeout) {
    }
}
