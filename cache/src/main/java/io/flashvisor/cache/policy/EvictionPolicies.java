package io.flashvisor.cache.policy;

import java.util.List;

/**
 * The eviction policies by configuration name; {@code s3-fifo} is the default. {@code lru} is the
 * log-structured approximation of LRU (lazy promotion: {@link ClockPolicy}, the same as {@code clock}); exact LRU, ARC, SIEVE and Belady exist
 * only in the simulator, for comparison.
 */
public final class EvictionPolicies {
    public static final String DEFAULT = "s3-fifo";
    public static final List<String> NAMES = List.of("s3-fifo", "lru", "clock", "fifo");

    private EvictionPolicies() {
    }

    /** A new policy for a cache of {@code capacityBlocks} blocks. */
    public static EvictionPolicy create(String name, long capacityBlocks) {
        return switch (name) {
            case "s3-fifo" -> new S3FifoPolicy(capacityBlocks);
            case "lru" -> new ClockPolicy("lru");
            case "clock" -> new ClockPolicy();
            case "fifo" -> new FifoPolicy();
            default -> throw new IllegalArgumentException("unknown eviction policy '" + name + "'; use one of " + String.join(", ", NAMES));
        };
    }
}
