package io.flashvisor.sim;

import io.flashvisor.common.ByteSize;

/**
 * A cache size as {@code --size} gives it: a percentage of the trace's working set (distinct
 * blocks; {@code 5%}, rounded down) or an absolute size in bytes ({@code 64M}, {@code 10GiB}).
 */
public record CacheSize(double percent, long bytes) {

    public static CacheSize parse(String text) {
        String s = text.strip();
        if (s.endsWith("%")) {
            double p;
            try {
                p = Double.parseDouble(s.substring(0, s.length() - 1));
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (!(p > 0 && p <= 1000)) {
                throw new IllegalArgumentException("cache size '" + text + "' is not a percentage in (0, 1000]");
            }
            return new CacheSize(p, 0);
        }
        long b = ByteSize.parse(s);
        if (b < 4096) {
            throw new IllegalArgumentException("cache size '" + text + "' is smaller than one 4 KiB block");
        }
        return new CacheSize(0, b);
    }

    /** Blocks for a trace of {@code distinctBlocks}; at least one. */
    public long blocks(long distinctBlocks) {
        long n = percent > 0 ? (long) Math.floor(distinctBlocks * percent / 100.0 + 1e-9) : bytes / 4096;
        return Math.max(1, n);
    }

    /** How the report labels it: {@code 5%} or {@code 64M}. */
    public String label() {
        if (percent > 0) {
            return (percent == Math.rint(percent) ? String.valueOf((long) percent) : String.valueOf(percent)) + "%";
        }
        return ByteSize.format(bytes);
    }
}
