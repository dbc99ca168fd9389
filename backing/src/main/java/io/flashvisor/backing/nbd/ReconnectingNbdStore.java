package io.flashvisor.backing.nbd;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.Extent;
import io.flashvisor.common.VolumeException;
import io.flashvisor.common.VolumeFeatures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An NBD backing store that outlives its connection: when the SAN restarts, fails over or its
 * path flaps, the call that finds the connection broken fails (with the reason), and a later call
 * connects again — instead of the volume failing until the node restarts.
 *
 * <p>Nothing is replayed behind the caller's back: a request whose reply was lost may or may not
 * have happened, so it fails, and its owner decides (the destager writes the batch again from
 * flash; a VM's write-through write gets EIO and its guest retries). Two rules keep a reconnect
 * from breaking the durability contract:
 * <ul>
 *   <li><b>Settle first.</b> A new connection is made no sooner than {@code settle} after the old
 *       one broke: the server may still execute requests it had read from the old connection, and
 *       one of those landing after a newer write of the same block on the new connection would undo
 *       it. (This is a bound we assume of the server, not one the protocol gives.)</li>
 *   <li><b>A flush covers its own connection only.</b> Writes acknowledged on a connection that
 *       broke before a flush covered them may sit in the old session's volatile cache. The first
 *       flush after such a loss fails, so whoever relied on those writes writes them again (the
 *       destager releases the batch and redoes it whole).</li>
 * </ul>
 * Size and read-only mode must be the same on the new connection; the features advertised to the
 * layers above stay those of the first connection.
 */
public final class ReconnectingNbdStore implements BlockVolume {
    private static final Logger LOG = LoggerFactory.getLogger(ReconnectingNbdStore.class);

    private final NbdUri uri;
    private final boolean readOnly;
    private final Duration connectTimeout;
    private final Duration ioTimeout;
    private final Duration settle;
    private final long size;
    private final VolumeFeatures features;
    private final ReentrantLock connecting = new ReentrantLock();
    /** Set by {@link #drop} when a lost connection had writes no flush covered; consumed by the next good flush. */
    private final AtomicBoolean lostUnflushedWrites = new AtomicBoolean();
    private volatile Connection current;
    /** Guarded by {@link #connecting}: when the last connection broke or the last attempt failed, and why. */
    private long downSinceNanos;
    private IOException lastFailure;
    private long reconnects;
    private boolean closed;

    /**
     * One connection and its writes (and trims, zeroings) without FUA: how many were sent, how many
     * acknowledged, and how many of the acknowledged a flush covered. When it breaks with
     * {@code started > flushed}, a write may have been acknowledged yet not be durable.
     */
    private record Connection(NbdBackingStore store, AtomicLong started, AtomicLong completed, AtomicLong flushed) {
        Connection(NbdBackingStore store) {
            this(store, new AtomicLong(), new AtomicLong(), new AtomicLong());
        }
    }

    private ReconnectingNbdStore(NbdUri uri, boolean readOnly, Duration connectTimeout, Duration ioTimeout, Duration settle,
                                 NbdBackingStore first) {
        this.uri = uri;
        this.readOnly = readOnly;
        this.connectTimeout = connectTimeout;
        this.ioTimeout = ioTimeout;
        this.settle = settle;
        this.size = first.size();
        this.features = first.features();
        this.current = new Connection(first);
    }

    /** Connects to {@code uri} (failing now if it cannot); later connections wait {@code settle} after a break. */
    public static ReconnectingNbdStore open(NbdUri uri, boolean readOnly, Duration connectTimeout, Duration ioTimeout, Duration settle)
            throws IOException {
        NbdBackingStore first = NbdBackingStore.open(uri, readOnly, connectTimeout, ioTimeout);
        return new ReconnectingNbdStore(uri, readOnly, connectTimeout, ioTimeout, settle, first);
    }

    /** How many times a new connection replaced a broken one. */
    public long reconnects() {
        connecting.lock();
        try {
            return reconnects;
        } finally {
            connecting.unlock();
        }
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public VolumeFeatures features() {
        return features;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        call(false, store -> {
            store.read(offset, dst);
            return null;
        });
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        call(!fua, store -> {
            store.write(offset, src, fua);
            return null;
        });
    }

    @Override
    public void flush() throws IOException {
        Connection c = connection();
        long covered = c.completed.get(); // writes acknowledged before the flush is sent are the ones it covers
        try {
            c.store.flush();
        } catch (IOException e) {
            throw dropIfBroken(c, e);
        }
        c.flushed.accumulateAndGet(covered, Math::max);
        if (lostUnflushedWrites.getAndSet(false)) {
            throw new VolumeException(BlockError.IO, "backing store " + uri + ": the connection broke after it had acknowledged"
                    + " writes no flush covered; they may be lost and must be written again (this flush covers only the new connection)");
        }
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        call(true, store -> {
            store.trim(offset, length, fua);
            return null;
        });
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayTrim, boolean fastOnly, boolean fua) throws IOException {
        call(!fua, store -> {
            store.writeZeroes(offset, length, mayTrim, fastOnly, fua);
            return null;
        });
    }

    @Override
    public void prefetch(long offset, long length) throws IOException {
        call(false, store -> {
            store.prefetch(offset, length);
            return null;
        });
    }

    @Override
    public Extent extentAt(long offset, long length) throws IOException {
        return call(false, store -> store.extentAt(offset, length));
    }

    private interface StoreCall<T> {
        T on(NbdBackingStore store) throws IOException;
    }

    /** One request on the current connection; {@code changes}: it modifies data that a later flush must cover. */
    private <T> T call(boolean changes, StoreCall<T> request) throws IOException {
        Connection c = connection();
        if (changes) {
            c.started.incrementAndGet(); // before it is sent: a break from here on may lose it
        }
        T result;
        try {
            result = request.on(c.store);
        } catch (IOException e) {
            throw dropIfBroken(c, e);
        }
        if (changes) {
            c.completed.incrementAndGet();
        }
        return result;
    }

    /** The live connection, or a new one once the old one has been down for {@code settle}; else fails at once, saying why. */
    private Connection connection() throws IOException {
        Connection c = current;
        if (c != null) {
            return c;
        }
        connecting.lock();
        try {
            if (closed) {
                throw new VolumeException(BlockError.SHUTDOWN, "backing store " + uri + " is closed");
            }
            if (current != null) {
                return current;
            }
            long down = System.nanoTime() - downSinceNanos;
            if (down < settle.toNanos()) {
                throw new VolumeException(BlockError.IO, "backing store " + uri + " is disconnected (" + lastFailure.getMessage()
                        + "); the next attempt to connect is in " + (settle.toNanos() - down) / 1_000_000 + " ms");
            }
            NbdBackingStore store;
            try {
                store = NbdBackingStore.open(uri, readOnly, connectTimeout, ioTimeout);
            } catch (IOException e) {
                downSinceNanos = System.nanoTime();
                lastFailure = e;
                throw new VolumeException(BlockError.IO, "backing store " + uri + " is unreachable: " + e.getMessage(), e);
            }
            if (store.size() != size || store.features().readOnly() != features.readOnly()) {
                String why = "the export changed: " + store.size() + " bytes" + (store.features().readOnly() ? ", read-only" : "")
                        + " instead of " + size + (features.readOnly() ? ", read-only" : "");
                store.close();
                downSinceNanos = System.nanoTime();
                lastFailure = new IOException(why);
                throw new VolumeException(BlockError.IO, "backing store " + uri + " is not used again: " + why);
            }
            reconnects++;
            LOG.info("backing store {}: connected again (reconnect {}, {} ms after the connection broke)", uri, reconnects,
                    (System.nanoTime() - downSinceNanos) / 1_000_000);
            current = new Connection(store);
            return current;
        } finally {
            connecting.unlock();
        }
    }

    /** After a failed call: if {@code c} is broken (not merely an error reply), it is closed and the next call reconnects. */
    private IOException dropIfBroken(Connection c, IOException e) {
        if (!c.store.client().isBroken()) {
            return e; // The server answered with an error; the connection is fine.
        }
        connecting.lock();
        try {
            if (current == c) {
                current = null;
                downSinceNanos = System.nanoTime();
                lastFailure = e;
                if (c.started.get() > c.flushed.get()) {
                    lostUnflushedWrites.set(true);
                }
                c.store.close();
                LOG.warn("backing store {}: connection lost ({}); connecting again in {} ms at the earliest", uri, e.getMessage(),
                        settle.toMillis());
            }
        } finally {
            connecting.unlock();
        }
        return e;
    }

    @Override
    public void close() {
        connecting.lock();
        try {
            closed = true;
            Connection c = current;
            current = null;
            if (c != null) {
                c.store.close();
            }
        } finally {
            connecting.unlock();
        }
    }

    @Override
    public String toString() {
        return "ReconnectingNbdStore[" + uri + "]";
    }
}
