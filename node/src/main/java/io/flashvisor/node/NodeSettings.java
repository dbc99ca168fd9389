package io.flashvisor.node;

import io.flashvisor.nbd.Listener;
import io.flashvisor.nbd.NbdServer;
import java.util.List;

/** What a {@link Node} runs with: validated, typed, complete. Built by {@link ConfigLoader} or directly (the {@code serve} command). */
public record NodeSettings(List<Listener> listeners, List<VolumeSpec> volumes, NbdServer.Settings nbd) {
    public NodeSettings {
        listeners = List.copyOf(listeners);
        volumes = List.copyOf(volumes);
    }
}
