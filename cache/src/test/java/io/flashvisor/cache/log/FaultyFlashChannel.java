package io.flashvisor.cache.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Wraps a {@link FlashChannel} and injects faults: a write that fails (optionally after writing
 * part of its bytes, as a real device may), {@code ENOSPC}, a failing force, a slow force.
 * Counts writes and forces. Thread-safe.
 */
final class FaultyFlashChannel implements FlashChannel {
    private final FlashChannel delegate;
    private final AtomicInteger writesUntilFailure = new AtomicInteger(-1);
    private volatile IOException writeFailure;
    private volatile double partialFraction;
    private final AtomicInteger forcesUntilFailure = new AtomicInteger(-1);
    private volatile long forceDelayMillis;
    private final AtomicLong writes = new AtomicLong();
    private final AtomicLong forces = new AtomicLong();
    private volatile Thread lastWriter;

    FaultyFlashChannel(FlashChannel delegate) {
        this.delegate = delegate;
    }

    /**
     * The write after the next {@code n} writes fails with {@code failure}, after writing
     * {@code partial} (0..1) of its bytes; every later write fails too.
     */
    FaultyFlashChannel failWrite(int n, IOException failure, double partial) {
        this.writeFailure = failure;
        this.partialFraction = partial;
        writesUntilFailure.set(n);
        return this;
    }

    /** The force after the next {@code n} forces fails. */
    FaultyFlashChannel failForce(int n) {
        forcesUntilFailure.set(n);
        return this;
    }

    FaultyFlashChannel slowForce(long millis) {
        forceDelayMillis = millis;
        return this;
    }

    long writes() {
        return writes.get();
    }

    long forces() {
        return forces.get();
    }

    @Override
    public void read(ByteBuffer dst, long position) throws IOException {
        delegate.read(dst, position);
    }

    /** The thread that wrote last. */
    Thread lastWriter() {
        return lastWriter;
    }

    @Override
    public void write(ByteBuffer src, long position) throws IOException {
        lastWriter = Thread.currentThread();
        int left = writesUntilFailure.getAndUpdate(n -> n > 0 ? n - 1 : n);
        if (left == 0) {
            int partial = (int) (src.remaining() * partialFraction) & -512;
            if (partial > 0) {
                delegate.write(src.slice(src.position(), partial), position);
            }
            throw writeFailure;
        }
        writes.incrementAndGet();
        delegate.write(src, position);
    }

    @Override
    public void force(boolean metadata) throws IOException {
        if (forceDelayMillis > 0) {
            try {
                Thread.sleep(forceDelayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
        int left = forcesUntilFailure.getAndUpdate(n -> n > 0 ? n - 1 : n);
        if (left == 0) {
            throw new IOException("Input/output error (injected fdatasync failure)");
        }
        forces.incrementAndGet();
        delegate.force(metadata);
    }

    @Override
    public long size() throws IOException {
        return delegate.size();
    }

    @Override
    public void close() throws IOException {
        delegate.close();
    }

    @Override
    public String toString() {
        return "faulty " + delegate;
    }
}
