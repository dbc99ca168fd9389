package io.flashvisor.node.volume;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.VolumeException;
import io.flashvisor.common.VolumeFeatures;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A backing store in memory for cached-volume tests: optional failing writes, an optional delay
 * per call (a slow SAN), and a hook called after each flush with the image (for flush-order
 * checks). Thread-safe (synchronised).
 */
final class MemoryBacking implements BlockVolume {
    private final byte[] data;
    private volatile double writeFailureRate;
    private volatile boolean failDestageWrites;
    private volatile long failDestageWritesAt = -1;
    private volatile long delayNanos;
    private volatile Consumer<byte[]> onFlush;
    private final java.util.Random random = new java.util.Random(1);
    final AtomicLong writes = new AtomicLong();
    final AtomicLong failedWrites = new AtomicLong();
    final AtomicLong reads = new AtomicLong();

    MemoryBacking(int size) {
        this.data = new byte[size];
    }

    void failWrites(double rate) {
        writeFailureRate = rate;
    }

    /** Fails the destager's writes only (recognised by its thread names): a SAN that stalls write-back. */
    void failDestageWrites(boolean value) {
        failDestageWrites = value;
    }

    /** Fails the destager's writes that cover byte {@code offset} (-1: none): one block that never gets written back. */
    void failDestageWritesAt(long offset) {
        failDestageWritesAt = offset;
    }

    void delay(long nanos) {
        delayNanos = nanos;
    }

    void onFlush(Consumer<byte[]> hook) {
        onFlush = hook;
    }

    synchronized byte[] image() {
        return data.clone();
    }

    @Override
    public long size() {
        return data.length;
    }

    @Override
    public VolumeFeatures features() {
        return VolumeFeatures.full();
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        pause();
        reads.incrementAndGet();
        synchronized (this) {
            dst.put(data, (int) offset, dst.remaining());
        }
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws VolumeException {
        pause();
        synchronized (this) {
            if (writeFailureRate > 0 && random.nextDouble() < writeFailureRate
                    || (failDestageWrites || offset <= failDestageWritesAt && failDestageWritesAt < offset + src.remaining())
                    && Thread.currentThread().getName().startsWith("destage")) {
                failedWrites.incrementAndGet();
                throw new VolumeException(BlockError.IO, "injected write failure at " + offset);
            }
            writes.incrementAndGet();
            src.get(data, (int) offset, src.remaining());
        }
    }

    @Override
    public void flush() {
        pause();
        Consumer<byte[]> hook = onFlush;
        if (hook != null) {
            byte[] image;
            synchronized (this) {
                image = data.clone();
            }
            hook.accept(image);
        }
    }

    @Override
    public synchronized void trim(long offset, long length, boolean fua) {
        // Trimmed data reads back as anything; here: 0x5A, so a test that relied on it would notice.
        Arrays.fill(data, (int) offset, (int) (offset + length), (byte) 0x5A);
    }

    @Override
    public synchronized void writeZeroes(long offset, long length, boolean mayTrim, boolean fastOnly, boolean fua) {
        Arrays.fill(data, (int) offset, (int) (offset + length), (byte) 0);
    }

    @Override
    public void close() {
    }

    private void pause() {
        long d = delayNanos;
        if (d > 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(d);
        }
    }
}
