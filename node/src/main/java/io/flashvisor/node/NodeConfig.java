package io.flashvisor.node;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * A node's configuration as written in its YAML file (see README, "Configuration reference").
 * These records only carry what was written; {@link ConfigLoader} parses and validates them and
 * turns them into the settings the node runs with.
 */
public record NodeConfig(List<ListenerConfig> listeners, List<VolumeConfig> volumes, NbdConfig nbd, FlashConfig flash,
                         String control) {

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
