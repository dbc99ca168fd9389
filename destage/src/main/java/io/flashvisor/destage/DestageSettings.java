package io.flashvisor.destage;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link Destager} paces itself.
 *
 * @param batchBlocks    dirty blocks handed out per batch (one backing-store flush per batch)
 * @param maxWrites      backing-store writes in flight at full speed
 * @param lowWatermark   dirty ratio (dirty blocks / flash capacity) below which the destager
 *                       trickles: one write at a time, so foreground misses keep the backing store
 * @param highWatermark  dirty ratio from which it runs at full speed whatever the foreground does
 * @param retryMin       first pause after a failed batch; doubles per failure …
 * @param retryMax       … up to this
 */
public record DestageSettings(int batchBlocks, int maxWrites, double lowWatermark, double highWatermark,
                              Duration retryMin, Duration retryMax) {

    public DestageSettings {
        Objects.requireNonNull(retryMin, "retryMin");
        Objects.requireNonNull(retryMax, "retryMax");
        if (batchBlocks < 1 || maxWrites < 1) {
            throw new IllegalArgumentException("destage batch (" + batchBlocks + " blocks) and writes in flight ("
                    + maxWrites + ") must be positive");
        }
        if (!(lowWatermark >= 0 && lowWatermark <= highWatermark && highWatermark <= 1)) {
            throw new IllegalArgumentException("dirty watermarks " + lowWatermark + " / " + highWatermark
                    + " must satisfy 0 <= low <= high <= 1, e.g. 0.1 and 0.5");
        }
        if (retryMin.isNegative() || retryMin.isZero() || retryMax.compareTo(retryMin) < 0) {
            throw new IllegalArgumentException("retry pauses " + retryMin + " .. " + retryMax + " must be positive and ordered");
        }
    }

    public static DestageSettings defaults() {
        return new DestageSettings(1024, 16, 0.10, 0.50, Duration.ofMillis(100), Duration.ofSeconds(10));
    }
}
