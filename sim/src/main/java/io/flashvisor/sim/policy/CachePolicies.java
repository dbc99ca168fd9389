package io.flashvisor.sim.policy;

import io.flashvisor.cache.policy.EvictionPolicies;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The policies {@code flashvisor sim} replays, by {@code --policy} name. Plain names are the
 * textbook per-block reference models ({@code lru fifo clock sieve arc belady}); {@code node:NAME}
 * is the node's own policy {@code NAME} ({@link EvictionPolicies}) in the log-structured model. A
 * node policy without a reference twin may drop the prefix ({@code s3-fifo}). {@code ref} and
 * {@code node} stand for all of either kind.
 */
public final class CachePolicies {
    public static final List<String> REFERENCE = List.of("lru", "fifo", "clock", "sieve", "arc", "belady");
    public static final String NODE_PREFIX = "node:";

    private CachePolicies() {
    }

    /** Expands and checks a comma-separated list; throws IllegalArgumentException naming the choices. */
    public static List<String> parse(String list) {
        Set<String> out = new LinkedHashSet<>();
        for (String raw : list.split(",")) {
            String name = raw.strip().toLowerCase(Locale.ROOT);
            if (name.isEmpty()) {
                continue;
            }
            if (name.equals("ref")) {
                out.addAll(REFERENCE);
            } else if (name.equals("node")) {
                EvictionPolicies.NAMES.forEach(n -> out.add(NODE_PREFIX + n));
            } else if (REFERENCE.contains(name)) {
                out.add(name);
            } else {
                String node = name.startsWith(NODE_PREFIX) ? name.substring(NODE_PREFIX.length()) : name;
                if (!EvictionPolicies.NAMES.contains(node)) {
                    throw new IllegalArgumentException("unknown policy '" + raw.strip() + "'; use " + String.join(", ", REFERENCE)
                            + ", node:" + String.join(", node:", EvictionPolicies.NAMES) + ", ref or node");
                }
                out.add(NODE_PREFIX + node);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no policy given");
        }
        return new ArrayList<>(out);
    }

    /**
     * A new model of policy {@code name} (as {@link #parse} returns it) for {@code capacity} blocks.
     * Node policies use segments of {@code segmentBlocks} blocks (0: {@link #autoSegmentBlocks})
     * and {@code streams} append streams.
     */
    public static CacheModel create(String name, long capacity, int segmentBlocks, int streams) {
        if (name.startsWith(NODE_PREFIX)) {
            int seg = segmentBlocks > 0 ? segmentBlocks : autoSegmentBlocks(capacity, streams);
            return new LogStructuredModel(EvictionPolicies.create(name.substring(NODE_PREFIX.length()), capacity), capacity, seg, streams);
        }
        return switch (name) {
            case "lru" -> new LruModel(capacity);
            case "fifo" -> new FifoModel(capacity);
            case "clock" -> new ClockModel(capacity);
            case "sieve" -> new SieveModel(capacity);
            case "arc" -> new ArcModel(capacity);
            case "belady" -> new BeladyModel(capacity);
            default -> throw new IllegalArgumentException("unknown policy '" + name + "'");
        };
    }

    /**
     * The node's 4 MiB segments (1,024 blocks) when the cache has at least 1,024 of them, else a
     * power of two that gives about 1,024 segments: the node's cleaner works with thousands of
     * segments, and a simulated cache of a few thousand blocks must not be only a few segments.
     */
    public static int autoSegmentBlocks(long capacity, int streams) {
        long seg = Long.highestOneBit(Math.max(1, capacity / 1024));
        seg = Math.min(1024, seg);
        while (seg > 1 && capacity / seg < 2L * streams + 2) {
            seg >>= 1;
        }
        return (int) seg;
    }
}
