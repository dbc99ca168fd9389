package io.flashvisor.nbd;

import io.flashvisor.nbd.server.ServerRuntime;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * An NBD server (fixed newstyle handshake, simple and structured replies) serving the exports of
 * an {@link ExportCatalog} on one or more {@link Listener}s.
 *
 * <p>Lifecycle: {@link #start} binds every listener or fails with a message that names the one that
 * failed; {@link #close} stops accepting, lets in-flight requests finish (up to the drain timeout),
 * then disconnects clients. {@code close()} is idempotent.
 */
public final class NbdServer implements AutoCloseable {

    /** Tunables, validated at construction. */
    public record Settings(int maxPayload, Duration drainTimeout) {
        /** 32 MiB: what the spec suggests clients may send, and what qemu and nbdkit use. */
        public static final int DEFAULT_MAX_PAYLOAD = 32 << 20;

        public Settings {
            if (maxPayload < 4096 || Integer.bitCount(maxPayload) != 1) {
                throw new IllegalArgumentException("maxPayload must be a power of two >= 4096: " + maxPayload);
            }
            if (drainTimeout == null || drainTimeout.isNegative()) {
                throw new IllegalArgumentException("drainTimeout must be zero or positive: " + drainTimeout);
            }
        }

        public static Settings defaults() {
            return new Settings(DEFAULT_MAX_PAYLOAD, Duration.ofSeconds(30));
        }
    }

    private final ServerRuntime runtime;

    private NbdServer(ServerRuntime runtime) {
        this.runtime = runtime;
    }

    public static NbdServer start(ExportCatalog catalog, List<Listener> listeners, Settings settings) throws IOException {
        Objects.requireNonNull(catalog, "catalog");
        Objects.requireNonNull(listeners, "listeners");
        Objects.requireNonNull(settings, "settings");
        return new NbdServer(ServerRuntime.start(catalog, List.copyOf(listeners), settings));
    }

    /** The port a {@link Listener.Tcp} is bound to (useful with port 0). */
    public int boundPort(Listener.Tcp listener) {
        return runtime.boundPort(listener);
    }

    @Override
    public void close() {
        runtime.close();
    }
}
