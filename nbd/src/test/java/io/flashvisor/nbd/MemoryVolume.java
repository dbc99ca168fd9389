package io.flashvisor.nbd;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.Extent;
import io.flashvisor.common.Ranges;
import io.flashvisor.common.VolumeException;
import io.flashvisor.common.VolumeFeatures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Queue;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * An in-memory {@link BlockVolume} for tests: a byte array, allocation tracked per
 * {@link #GRAIN}-byte grain (for {@code extentAt}), a log of calls, injectable failures, and gates
 * that hold an operation until the test opens them.
 */
public class MemoryVolume implements BlockVolume {
    public static final int GRAIN = 4096;

    private final byte[] data;
    private final VolumeFeatures features;
    /** Per grain: 0 = hole (reads zero), 1 = allocated zeroes, 2 = data. */
    private final byte[] state;
    /** The calls made, e.g. {@code "write 0 512 fua"}; only the first 10 000 are kept. */
    public final Queue<String> calls = new ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicInteger recorded = new java.util.concurrent.atomic.AtomicInteger();
    private final Map<String, IOException> failures = new ConcurrentHashMap<>();
    private final Map<String, CountDownLatch> gates = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public MemoryVolume(int size, VolumeFeatures features) {
        this.data = new byte[size];
        this.features = features;
        this.state = new byte[(size + GRAIN - 1) / GRAIN];
    }

    public MemoryVolume(int size) {
        this(size, VolumeFeatures.full());
    }

    /** Makes every later call of {@code op} ("read", "write", "flush", ...) fail with {@code e}. */
    public MemoryVolume failing(String op, IOException e) {
        failures.put(op, e);
        return this;
    }

    public MemoryVolume healed(String op) {
        failures.remove(op);
        return this;
    }

    /** Holds every call of {@code op} until the returned latch is counted down. */
    public CountDownLatch gate(String op) {
        CountDownLatch latch = new CountDownLatch(1);
        gates.put(op, latch);
        return latch;
    }

    private void enter(String op, String call) throws IOException {
        if (recorded.incrementAndGet() <= 10_000) {
            calls.add(call);
        }
        CountDownLatch gate = gates.get(op);
        if (gate != null) {
            try {
                if (!gate.await(30, TimeUnit.SECONDS)) {
                    throw new VolumeException(BlockError.IO, "gate " + op + " never opened");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new VolumeException(BlockError.SHUTDOWN, "interrupted");
            }
        }
        IOException failure = failures.get(op);
        if (failure != null) {
            throw failure;
        }
        if (closed) {
            throw new VolumeException(BlockError.SHUTDOWN, "closed");
        }
    }

    @Override
    public long size() {
        return data.length;
    }

    @Override
    public VolumeFeatures features() {
        return features;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        enter("read", "read " + offset + " " + dst.remaining());
        Ranges.check(offset, dst.remaining(), size());
        synchronized (this) {
            dst.put(data, (int) offset, dst.remaining());
        }
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        enter("write", "write " + offset + " " + src.remaining() + (fua ? " fua" : ""));
        Ranges.check(offset, src.remaining(), size());
        synchronized (this) {
            int n = src.remaining();
            src.get(data, (int) offset, n);
            mark(offset, n, (byte) 2, false);
        }
    }

    @Override
    public void flush() throws IOException {
        enter("flush", "flush");
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        enter("trim", "trim " + offset + " " + length + (fua ? " fua" : ""));
        Ranges.check(offset, length, size());
        synchronized (this) {
            mark(offset, length, (byte) 0, true);
        }
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayTrim, boolean fastOnly, boolean fua) throws IOException {
        enter("zero", "zero " + offset + " " + length + (mayTrim ? " trim" : "") + (fastOnly ? " fast" : "") + (fua ? " fua" : ""));
        Ranges.check(offset, length, size());
        synchronized (this) {
            java.util.Arrays.fill(data, (int) offset, (int) (offset + length), (byte) 0);
            mark(offset, length, mayTrim ? (byte) 0 : (byte) 1, true);
        }
    }

    @Override
    public void prefetch(long offset, long length) throws IOException {
        enter("prefetch", "prefetch " + offset + " " + length);
    }

    /** Grains entirely inside the range get {@code s}; partial grains become data unless {@code wholeOnly}. */
    private void mark(long offset, long length, byte s, boolean wholeOnly) {
        long end = offset + length;
        for (long g = offset / GRAIN; g * GRAIN < end; g++) {
            long gs = g * GRAIN;
            long ge = Math.min(gs + GRAIN, data.length);
            boolean whole = gs >= offset && ge <= end;
            if (whole) {
                state[(int) g] = s;
                if (s == 0) {
                    java.util.Arrays.fill(data, (int) gs, (int) ge, (byte) 0);
                }
            } else if (!wholeOnly || s == 2) {
                state[(int) g] = 2;
            }
        }
    }

    @Override
    public synchronized Extent extentAt(long offset, long length) throws IOException {
        enter("extent", "extent " + offset + " " + length);
        Ranges.check(offset, length, size());
        int g = (int) (offset / GRAIN);
        byte s = state[g];
        long end = offset;
        while (end < offset + length && state[(int) (end / GRAIN)] == s) {
            end = Math.min((end / GRAIN + 1) * GRAIN, offset + length);
        }
        return new Extent(end - offset, s == 0, s != 2);
    }

    public synchronized byte[] contents(int offset, int length) {
        return java.util.Arrays.copyOfRange(data, offset, offset + length);
    }

    public synchronized void fill(int offset, byte[] bytes) {
        System.arraycopy(bytes, 0, data, offset, bytes.length);
        mark(offset, bytes.length, (byte) 2, false);
    }

    @Override
    public void close() {
        closed = true;
    }
}
