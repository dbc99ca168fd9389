package io.flashvisor.sim.policy;

import io.flashvisor.sim.trace.BlockTrace;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Replays a trace through one model and counts what the report shows. The loop is the simulator's
 * hot path: primitive reads of the packed trace, one virtual call per block access, no allocation.
 */
public final class Replay {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private Replay() {
    }

    /**
     * The replaying thread's CPU time: accesses per CPU-second is the per-core throughput however
     * busy the machine is (wall time if the JVM cannot measure thread CPU time).
     */
    public static long cpuNanos() {
        return THREADS.isCurrentThreadCpuTimeSupported() ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }

    /**
     * @param destageBytesPerSecond the write-back destager's bandwidth in trace time; negative
     *                              disables write-back accounting (faster)
     */
    public static ReplayResult run(BlockTrace trace, CacheModel model, long destageBytesPerSecond) {
        WriteBack wb = destageBytesPerSecond < 0 ? WriteBack.NONE : new WriteBack(destageBytesPerSecond, model.capacity());
        model.writeBack = wb;
        boolean writeBack = wb.enabled();
        model.prepare(trace);
        long hits = 0;
        long hitBytes = 0;
        long bytes = 0;
        long writes = 0;
        long writeHits = 0;
        int n = trace.size();
        long start = cpuNanos();
        for (int i = 0; i < n; i++) {
            long w = trace.word(i);
            long key = w >>> 13;
            boolean write = (w & 1) != 0;
            int b = (int) (w >>> 1 & 4095) + 1;
            if (writeBack) {
                wb.advance(trace.timeUs(i));
            }
            boolean hit = model.access(key, write);
            bytes += b;
            if (hit) {
                hits++;
                hitBytes += b;
            }
            if (write) {
                writes++;
                if (hit) {
                    writeHits++;
                }
                if (writeBack) {
                    wb.written(key);
                }
            }
        }
        long nanos = cpuNanos() - start;
        long misses = n - hits;
        long flashWrites = misses + writeHits + model.extraFlashWrites();
        int segment = model instanceof LogStructuredModel l ? l.segmentBlocks() : 0;
        return new ReplayResult(model.name(), model.capacity(), segment, n, hits, bytes, hitBytes, writes, flashWrites, model.extraFlashWrites(),
                wb.peakDirtyBlocks(), wb.forcedWriteBacks(), nanos);
    }
}
