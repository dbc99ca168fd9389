package io.flashvisor.node;

import io.flashvisor.nbd.Listener;
import io.flashvisor.nbd.NbdServer;
import java.nio.file.Path;
import java.util.List;

/**
 * What a {@link Node} runs with: validated, typed, complete. Built by {@link ConfigLoader} or directly (the {@code serve} command).
 *
 * @param flash   the flash device, or null: then every volume is pass-through
 * @param control the control socket for status and policy commands, or null for none
 * @param cluster the cluster this node joins, or null: a single host without ZooKeeper
 * @param metrics where to serve Prometheus metrics over HTTP, or null for nowhere (the control socket's
 *                {@code metrics} command has them anyway)
 */
public record NodeSettings(List<Listener> listeners, List<VolumeSpec> volumes, NbdServer.Settings nbd, FlashSpec flash, Path control,
                           ClusterSpec cluster, MetricsSpec metrics) {
    public NodeSettings {
        listeners = List.copyOf(listeners);
        volumes = List.copyOf(volumes);
        if (cluster != null && flash == null) {
            throw new IllegalArgumentException("a cluster node needs a flash device (it keeps its peers' replicas there)");
        }
    }

    /** Without an HTTP metrics endpoint. */
    public NodeSettings(List<Listener> listeners, List<VolumeSpec> volumes, NbdServer.Settings nbd, FlashSpec flash, Path control,
                        ClusterSpec cluster) {
        this(listeners, volumes, nbd, flash, control, cluster, null);
    }

    /** A single host, not in a cluster. */
    public NodeSettings(List<Listener> listeners, List<VolumeSpec> volumes, NbdServer.Settings nbd, FlashSpec flash, Path control) {
        this(listeners, volumes, nbd, flash, control, null);
    }

    /** Without flash and control socket: a pass-through node. */
    public NodeSettings(List<Listener> listeners, List<VolumeSpec> volumes, NbdServer.Settings nbd) {
        this(listeners, volumes, nbd, null, null);
    }
}
