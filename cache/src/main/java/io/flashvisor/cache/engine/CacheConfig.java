package io.flashvisor.cache.engine;

import io.flashvisor.cache.log.LogConfig;
import io.flashvisor.cache.policy.EvictionPolicies;
import java.util.Objects;

/**
 * Settings of a {@link FlashCache}, validated once, here, with messages that say what to change.
 *
 * @param log                the flash log's settings (segment size, streams, reserve, durability …)
 * @param evictionPolicy     {@code s3-fifo} (default), {@code clock} or {@code fifo}
 * @param formatIfBlank      at {@link FlashCache#open}, format a device whose two superblock blocks
 *                           are all zeroes (a new file or a zeroed device). A device that holds
 *                           anything else there — a foreign superblock, a Flashvisor superblock of
 *                           another version, a damaged one — is never formatted implicitly
 * @param cleanerLowPercent  the cleaner starts when free segments drop below
 *                           max(reserved + streams + 1, this % of the segments) (default 3)
 * @param cleanerHighPercent … and reclaims until free segments reach max(low + 1, this %) (default 6)
 * @param backgroundCleaner  run the {@code flash-cleaner} thread (default true; false is for tests and
 *                           tools that drive reclaim themselves)
 */
public record CacheConfig(LogConfig log, String evictionPolicy, boolean formatIfBlank, int cleanerLowPercent,
                          int cleanerHighPercent, boolean backgroundCleaner) {

    public CacheConfig {
        Objects.requireNonNull(log, "log");
        Objects.requireNonNull(evictionPolicy, "evictionPolicy");
        if (!EvictionPolicies.NAMES.contains(evictionPolicy)) {
            throw new IllegalArgumentException("unknown eviction policy '" + evictionPolicy + "'; use one of "
                    + String.join(", ", EvictionPolicies.NAMES));
        }
        if (cleanerLowPercent < 0 || cleanerLowPercent > 50 || cleanerHighPercent < cleanerLowPercent
                || cleanerHighPercent > 60) {
            throw new IllegalArgumentException("cleaner watermarks " + cleanerLowPercent + " % / " + cleanerHighPercent
                    + " % must satisfy 0 <= low <= 50 and low <= high <= 60, e.g. 3 and 6");
        }
    }

    public static CacheConfig defaults() {
        return new CacheConfig(LogConfig.defaults(), EvictionPolicies.DEFAULT, false, 3, 6, true);
    }

    public CacheConfig withLog(LogConfig value) {
        return new CacheConfig(value, evictionPolicy, formatIfBlank, cleanerLowPercent, cleanerHighPercent, backgroundCleaner);
    }

    public CacheConfig withEvictionPolicy(String value) {
        return new CacheConfig(log, value, formatIfBlank, cleanerLowPercent, cleanerHighPercent, backgroundCleaner);
    }

    public CacheConfig withFormatIfBlank(boolean value) {
        return new CacheConfig(log, evictionPolicy, value, cleanerLowPercent, cleanerHighPercent, backgroundCleaner);
    }

    public CacheConfig withCleanerWatermarks(int lowPercent, int highPercent) {
        return new CacheConfig(log, evictionPolicy, formatIfBlank, lowPercent, highPercent, backgroundCleaner);
    }

    public CacheConfig withBackgroundCleaner(boolean value) {
        return new CacheConfig(log, evictionPolicy, formatIfBlank, cleanerLowPercent, cleanerHighPercent, value);
    }

    /** Free segments below which the cleaner starts, for a device of {@code segments}. */
    int lowWatermark(int segments) {
        int low = Math.max(log.reservedSegments() + log.streams() + 1, percentOf(segments, cleanerLowPercent));
        return Math.min(low, highWatermark(segments));
    }

    /** Free segments the cleaner reclaims up to (never more than can be free with every stream's segment open). */
    int highWatermark(int segments) {
        int low = Math.max(log.reservedSegments() + log.streams() + 1, percentOf(segments, cleanerLowPercent));
        int high = Math.max(low + 1, percentOf(segments, cleanerHighPercent));
        return Math.max(1, Math.min(high, segments - log.streams()));
    }

    private static int percentOf(int segments, int percent) {
        return (int) ((segments * (long) percent + 99) / 100);
    }
}
