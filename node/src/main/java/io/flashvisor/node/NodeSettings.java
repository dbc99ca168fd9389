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
 */
public record NodeSettings(List<Listener> listeners, List<VolumeSpec> volumes, NbdServer.Settings nbd, FlashSpec flash, Path control) {
    public NodeSettings {
        listeners = List.copyOf(listeners);
        volumes = List.copyOf(volumes);
    }

    /** Without flash and control socket: a pass-through node. */
    public NodeSettings(List<Listener> listeners, List<VolumeSpec> volumes, NbdServer.Settings nbd) {
        this(listeners, volumes, nbd, null, null);
    }
}
