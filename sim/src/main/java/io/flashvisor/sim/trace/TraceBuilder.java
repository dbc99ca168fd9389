package io.flashvisor.sim.trace;

import java.util.Arrays;

/**
 * Collects requests (byte offset and length) from a reader or a generator and splits each into
 * the 4 KiB blocks it touches, in ascending order, reads and writes alike (the convention of the
 * reference table in {@code shared/traces/README.md}). Times are made relative to the first
 * request; untimed traces get one request every {@value #UNTIMED_GAP_US} µs (10,000 IOPS).
 * Not thread-safe.
 */
public final class TraceBuilder {
    static final long UNTIMED_GAP_US = 100;

    private final String name;
    private long[] access = new long[1 << 16];
    private long[] timeUs = new long[1 << 16];
    private int size;
    private long requests;
    private long firstTime = Long.MIN_VALUE;
    private long lastTime;
    private boolean timed = true;
    private final int limit;

    public TraceBuilder(String name) {
        this(name, Integer.MAX_VALUE - 16);
    }

    /** @param limit stop after this many block accesses (the rest of the trace is ignored) */
    public TraceBuilder(String name, int limit) {
        this.name = name;
        this.limit = limit;
    }

    /**
     * One request of volume {@code volume} (0..1023): {@code length} bytes at byte {@code offset}.
     * {@code timeUs} is the trace's own time in µs, or -1 if it has none.
     */
    public void request(int volume, long offset, long length, boolean write, long timeUs) {
        if (length <= 0 || offset < 0 || full()) {
            return;
        }
        if (volume < 0 || volume > 1023) {
            throw new IllegalArgumentException("volume number " + volume + " is not in [0, 1023]");
        }
        long t;
        if (timeUs < 0) {
            timed = false;
            t = requests * UNTIMED_GAP_US;
        } else {
            if (firstTime == Long.MIN_VALUE) {
                firstTime = timeUs;
            }
            t = Math.max(lastTime, timeUs - firstTime); // a trace that goes back in time stands still
        }
        lastTime = t;
        requests++;
        long end = offset + length;
        long first = offset / BlockTrace.BLOCK;
        long last = (end - 1) / BlockTrace.BLOCK;
        long base = (long) volume << BlockTrace.VOLUME_SHIFT;
        if (last >= 1L << BlockTrace.VOLUME_SHIFT) {
            throw new IllegalArgumentException("offset " + offset + " + " + length + " is beyond 4 PiB");
        }
        for (long b = first; b <= last && !full(); b++) {
            long lo = Math.max(offset, b * BlockTrace.BLOCK);
            long hi = Math.min(end, (b + 1) * BlockTrace.BLOCK);
            add(BlockTrace.pack(base | b, (int) (hi - lo), write), t);
        }
    }

    public boolean full() {
        return size >= limit;
    }

    private void add(long word, long t) {
        if (size == access.length) {
            int cap = (int) Math.min(Integer.MAX_VALUE - 16, access.length * 2L);
            access = Arrays.copyOf(access, cap);
            timeUs = Arrays.copyOf(timeUs, cap);
        }
        access[size] = word;
        timeUs[size++] = t;
    }

    public BlockTrace build() {
        return new BlockTrace(name, Arrays.copyOf(access, size), Arrays.copyOf(timeUs, size), size, requests,
                timed && requests > 0);
    }
}
