package io.flashvisor.sim.synthetic;

import io.flashvisor.common.ByteSize;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code key=value} parameters of a workload spec, with the ones every generator shares:
 * {@code requests} (1,000,000), {@code blocks} (the volume, 1,000,000 4 KiB blocks),
 * {@code write} (fraction of writes, 0.3), {@code bs} (request size, 4k), {@code iops}
 * (request rate for the trace's clock, 10,000) and {@code seed} (1). Counts take k/m/g suffixes
 * (decimal: 1m = 1,000,000).
 */
final class WorkloadParams {
    private static final Set<String> COMMON = Set.of("requests", "blocks", "write", "bs", "iops", "seed");

    private final String kind;
    private final Map<String, String> values = new LinkedHashMap<>();
    private final Set<String> known;

    WorkloadParams(String kind, String params, Set<String> own) {
        this.kind = kind;
        this.known = new java.util.HashSet<>(own);
        this.known.addAll(COMMON);
        if (params != null && !params.isBlank()) {
            for (String kv : params.split(",")) {
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException(kind + ": '" + kv + "' is not key=value");
                }
                String k = kv.substring(0, eq).strip().toLowerCase(Locale.ROOT);
                if (!known.contains(k)) {
                    throw new IllegalArgumentException(kind + ": unknown parameter '" + k + "'; known: " + String.join(", ", new java.util.TreeSet<>(known)));
                }
                values.put(k, kv.substring(eq + 1).strip());
            }
        }
    }

    /** Checks the shared parameters now, so a bad spec fails before any generation. */
    WorkloadParams validated() {
        requests();
        blocks();
        write();
        seed();
        requestBlocks();
        gapMicros();
        return this;
    }

    long count(String key, long dflt) {
        String v = values.get(key);
        if (v == null) {
            return dflt;
        }
        String s = v.toLowerCase(Locale.ROOT).replace("_", "");
        long mult = 1;
        if (s.endsWith("k")) {
            mult = 1_000;
        } else if (s.endsWith("m")) {
            mult = 1_000_000;
        } else if (s.endsWith("g")) {
            mult = 1_000_000_000;
        }
        try {
            long n = Long.parseLong(mult == 1 ? s : s.substring(0, s.length() - 1)) * mult;
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(kind + ": " + key + "=" + v + " is not a count (e.g. 1000, 64k, 2m)");
        }
    }

    double fraction(String key, double dflt, double min, double max) {
        String v = values.get(key);
        if (v == null) {
            return dflt;
        }
        try {
            double d = Double.parseDouble(v);
            if (!(d >= min && d <= max)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(kind + ": " + key + "=" + v + " is not a number in [" + min + ", " + max + "]");
        }
    }

    long requests() {
        return positive("requests", count("requests", 1_000_000));
    }

    long blocks() {
        return positive("blocks", count("blocks", 1_000_000));
    }

    double write() {
        return fraction("write", 0.3, 0, 1);
    }

    long seed() {
        return count("seed", 1);
    }

    int requestBlocks() {
        String v = values.getOrDefault("bs", "4k");
        long bytes = ByteSize.parse(v);
        if (bytes < 4096 || bytes % 4096 != 0 || bytes > 16 << 20) {
            throw new IllegalArgumentException(kind + ": bs=" + v + " must be a multiple of 4k up to 16m");
        }
        return (int) (bytes / 4096);
    }

    long gapMicros() {
        return Math.max(1, 1_000_000 / positive("iops", count("iops", 10_000)));
    }

    long positive(String key, long n) {
        if (n <= 0) {
            throw new IllegalArgumentException(kind + ": " + key + " must be positive");
        }
        return n;
    }

    /** The canonical spec string: kind and every parameter given. */
    String spec() {
        StringBuilder sb = new StringBuilder(kind);
        String sep = ":";
        for (Map.Entry<String, String> e : values.entrySet()) {
            sb.append(sep).append(e.getKey()).append('=').append(e.getValue());
            sep = ",";
        }
        return sb.toString();
    }
}
