package io.flashvisor.sim.synthetic;

import io.flashvisor.sim.trace.BlockTrace;
import io.flashvisor.sim.trace.TraceBuilder;
import java.util.Locale;

/**
 * Workload specs: {@code KIND[:key=value,...]} with KIND {@code zipf}, {@code scan} or
 * {@code shift}; see each generator for its own keys and {@link WorkloadParams} for the shared
 * ones ({@code requests blocks write bs iops seed}).
 */
public final class Workloads {
    public static final String KINDS = "zipf, scan, shift";

    private Workloads() {
    }

    public static Workload parse(String spec) {
        String s = spec.strip();
        int colon = s.indexOf(':');
        String kind = (colon < 0 ? s : s.substring(0, colon)).toLowerCase(Locale.ROOT);
        String params = colon < 0 ? "" : s.substring(colon + 1);
        return switch (kind) {
            case "zipf" -> new ZipfWorkload(new WorkloadParams(kind, params, ZipfWorkload.params()).validated());
            case "scan" -> new ScanWorkload(new WorkloadParams(kind, params, ScanWorkload.params()).validated());
            case "shift" -> new ShiftingWorkload(new WorkloadParams(kind, params, ShiftingWorkload.params()).validated());
            default -> throw new IllegalArgumentException("unknown synthetic workload '" + kind + "'; use " + KINDS);
        };
    }

    /** Generates the workload of {@code spec} as a trace. */
    public static BlockTrace trace(String spec) {
        Workload w = parse(spec);
        TraceBuilder b = new TraceBuilder(w.spec());
        w.generate(b);
        return b.build();
    }
}
