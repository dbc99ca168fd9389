package io.flashvisor.node;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * A node's configuration as written in its YAML file (see README, "Configuration reference").
 * These records only carry what was written; {@link ConfigLoader} parses and validates them and
 * turns them into the settings the node runs with.
 */
public record NodeConfig(List<ListenerConfig> listeners, List<VolumeConfig> volumes, NbdConfig nbd) {

    public NodeConfig {
        listeners = listeners == null ? List.of() : List.copyOf(listeners);
        volumes = volumes == null ? List.of() : List.copyOf(volumes);
        nbd = nbd == null ? new NbdConfig(null, null) : nbd;
    }

    /** Exactly one of {@code unix} and {@code tcp}. */
    public record ListenerConfig(String unix, String mode, String tcp, TlsConfig tls, Boolean insecure) {
    }

    public record TlsConfig(String certificate, String key, @JsonProperty("client-ca") String clientCa) {
    }

    public record VolumeConfig(String name, String backing, String policy,
                               @JsonProperty("read-only") Boolean readOnly,
                               Boolean direct, String description) {
    }

    /**
     * @param maxPayload   largest request payload accepted, e.g. {@code 32M}
     * @param drainTimeout how long shutdown waits for in-flight requests, e.g. {@code 30s}
     */
    public record NbdConfig(@JsonProperty("max-payload") String maxPayload,
                            @JsonProperty("drain-timeout") String drainTimeout) {
    }
}
