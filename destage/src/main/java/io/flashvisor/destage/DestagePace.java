package io.flashvisor.destage;

/**
 * How many backing-store writes the destager may have in flight, decided from the dirty ratio and
 * from what the backing store is doing now. Pure arithmetic, so the rules are testable alone.
 *
 * <ul>
 * <li>At or above the high watermark: full speed. Dirty data must not fill the flash, or writes
 *     stall; foreground latency matters less than that.</li>
 * <li>Otherwise the number grows linearly from 1 at the low watermark to the maximum at the high
 *     one, and then two brakes apply: while foreground requests wait on the backing store (read
 *     misses, write-through writes) the destager keeps a single write in flight; and when the
 *     backing store's destage write latency has grown past {@value #SLOW_FACTOR}× the best seen,
 *     the SAN is saturated, so the number is halved.</li>
 * </ul>
 */
public final class DestagePace {
    static final double SLOW_FACTOR = 3.0;

    private DestagePace() {
    }

    /**
     * @param urgent           someone waits for the volume to be clean (a drain): full speed
     * @param latencyNanos     recent mean latency of destage writes, 0 if unknown
     * @param bestLatencyNanos the lowest such mean seen, 0 if unknown
     */
    public static int writesInFlight(DestageSettings s, double dirtyRatio, int foregroundInFlight, long latencyNanos,
                                     long bestLatencyNanos, boolean urgent) {
        if (urgent || dirtyRatio >= s.highWatermark()) {
            return s.maxWrites();
        }
        if (foregroundInFlight > 0 || dirtyRatio <= s.lowWatermark()) {
            return 1;
        }
        double span = s.highWatermark() - s.lowWatermark();
        double f = span <= 0 ? 1 : (dirtyRatio - s.lowWatermark()) / span;
        int n = Math.max(1, (int) Math.round(1 + f * (s.maxWrites() - 1)));
        if (bestLatencyNanos > 0 && latencyNanos > SLOW_FACTOR * bestLatencyNanos) {
            n = Math.max(1, n / 2);
        }
        return n;
    }
}
