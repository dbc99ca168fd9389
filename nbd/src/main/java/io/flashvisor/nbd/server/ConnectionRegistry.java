package io.flashvisor.nbd.server;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The connections of one server that are in the transmission phase, so that shutdown can drain
 * them. Thread-safe. Once draining has started, a connection that enters transmission later is
 * drained as soon as it registers, and handshakes refuse options with {@code NBD_REP_ERR_SHUTDOWN}.
 */
final class ConnectionRegistry {
    private final Set<TransmissionHandler> active = new HashSet<>();
    private volatile boolean draining;

    boolean shuttingDown() {
        return draining;
    }

    void register(TransmissionHandler handler) {
        boolean drainNow;
        synchronized (this) {
            active.add(handler);
            drainNow = draining;
        }
        if (drainNow) {
            handler.startDrain();
        }
    }

    synchronized void unregister(TransmissionHandler handler) {
        active.remove(handler);
    }

    synchronized int size() {
        return active.size();
    }

    /** Starts draining every connection; the futures complete when each has no request left in flight. */
    List<CompletableFuture<Void>> drainAll() {
        List<TransmissionHandler> handlers;
        synchronized (this) {
            draining = true;
            handlers = new ArrayList<>(active);
        }
        List<CompletableFuture<Void>> drained = new ArrayList<>(handlers.size());
        for (TransmissionHandler h : handlers) {
            drained.add(h.startDrain());
        }
        return drained;
    }
}
