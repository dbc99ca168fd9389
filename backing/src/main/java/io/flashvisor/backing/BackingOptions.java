package io.flashvisor.backing;

import java.time.Duration;
import java.util.Objects;

/**
 * How to open a backing store. Settings that do not apply to a kind of store are ignored by it
 * ({@code direct} and {@code sync} by NBD stores, the timeouts by file stores).
 *
 * @param readOnly       refuse writes, trims and zeroing ({@code PERMISSION}); files are opened without write access
 * @param direct         files: bypass the page cache ({@code O_DIRECT})
 * @param sync           files: FLUSH and FUA call {@code fdatasync}; turn off only for scratch stores and tests
 * @param connectTimeout NBD: bound on connecting plus the handshake
 * @param ioTimeout      NBD: bound on waiting for a reply; on expiry the connection is closed and the store fails.
 *                       {@link Duration#ZERO} waits forever
 */
public record BackingOptions(boolean readOnly, boolean direct, boolean sync, Duration connectTimeout, Duration ioTimeout) {

    public BackingOptions {
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(ioTimeout, "ioTimeout");
        if (connectTimeout.isNegative() || connectTimeout.isZero()) {
            throw new IllegalArgumentException("connectTimeout must be positive: " + connectTimeout);
        }
        if (ioTimeout.isNegative()) {
            throw new IllegalArgumentException("ioTimeout must not be negative (0 = no timeout): " + ioTimeout);
        }
    }

    /** The given access mode with the default durability and timeouts (synced, 10 s to connect, 2 min per reply). */
    public BackingOptions(boolean readOnly, boolean direct) {
        this(readOnly, direct, true, Duration.ofSeconds(10), Duration.ofMinutes(2));
    }

    /** Read-write, buffered, synced, 10 s to connect, 2 min per reply. */
    public static BackingOptions defaults() {
        return new BackingOptions(false, false);
    }

    public BackingOptions withReadOnly(boolean value) {
        return new BackingOptions(value, direct, sync, connectTimeout, ioTimeout);
    }

    public BackingOptions withDirect(boolean value) {
        return new BackingOptions(readOnly, value, sync, connectTimeout, ioTimeout);
    }

    public BackingOptions withSync(boolean value) {
        return new BackingOptions(readOnly, direct, value, connectTimeout, ioTimeout);
    }

    public BackingOptions withTimeouts(Duration connect, Duration io) {
        return new BackingOptions(readOnly, direct, sync, connect, io);
    }
}
