package io.flashvisor.node.volume;

/**
 * One latency component of one volume: a recent window ({@link LatencyRecorder#WINDOW}) and the
 * totals since the volume was opened. Quantiles are accurate to 1 % (two significant digits).
 *
 * @param count       operations that completed in the window
 * @param p50Micros   median of the window, µs (0 when empty)
 * @param p99Micros   99th percentile of the window, µs (0 when empty)
 * @param maxMicros   slowest of the window, µs (0 when empty)
 * @param totalCount  operations since the volume was opened
 * @param totalMicros their summed duration, µs
 */
public record LatencySummary(long count, long p50Micros, long p99Micros, long maxMicros, long totalCount, long totalMicros) {
}
