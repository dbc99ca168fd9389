package io.flashvisor.sim.report;

import io.flashvisor.cache.sizing.MissRatioCurve;
import io.flashvisor.sim.MissRatioCurves;
import io.flashvisor.sim.Simulator;
import io.flashvisor.sim.policy.ReplayResult;
import java.io.PrintWriter;
import java.util.Locale;

/** Prints a {@link SimReport} as an aligned table (for people), JSON or CSV (for scripts). */
public final class ReportWriter {
    /** Working-set fractions at which the table form shows the miss-ratio curve. */
    static final double[] CURVE_PERCENTS = {1, 2, 5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 100};
    static final double[] TARGETS = {0.5, 0.8, 0.9, 0.95};

    private ReportWriter() {
    }

    public static void table(SimReport r, PrintWriter out) {
        out.printf(Locale.ROOT, "trace %s: %,d requests, %,d block accesses (%.1f %% writes), %,d distinct blocks (%s), %.0f s%n%n",
                r.trace(), r.requests(), r.accesses(), 100.0 * r.writes() / Math.max(1, r.accesses()), r.distinctBlocks(),
                human(r.distinctBlocks() * 4096), r.seconds());
        if (!r.rows().isEmpty()) {
            out.printf(Locale.ROOT, "%-14s %7s %12s %7s %7s %8s %9s %10s %9s %9s%n", "policy", "size", "blocks", "hit",
                    "miss", "byte hit", "flash w/w", "peak dirty", "forced wb", "Macc/s");
            for (Simulator.Row row : r.rows()) {
                ReplayResult x = row.result();
                out.printf(Locale.ROOT, "%-14s %7s %,12d %7.4f %7.4f %8.4f %9.3f %10s %,9d %9.1f%n", x.policy(), row.size().label(),
                        x.capacityBlocks(), x.hitRatio(), x.missRatio(), x.byteHitRatio(), x.flashWritesPerWrite(),
                        human(x.peakDirtyBytes()), x.forcedWriteBacks(), x.accessesPerSecond() / 1e6);
            }
        }
        if (r.mrc() != null) {
            MissRatioCurves.Measured m = r.mrc();
            MissRatioCurve c = m.curve();
            out.printf(Locale.ROOT, "%nLRU miss-ratio curve (SHARDS, %,d samples, rate %.4f, %s of RAM, %.1f M accesses/s):%n",
                    m.maxSamples(), m.samplingRate(), human(m.bytesOfRam()), r.accesses() * 1e3 / Math.max(1, m.nanos()));
            out.printf(Locale.ROOT, "%8s %12s %10s %7s%n", "size", "blocks", "bytes", "miss");
            for (double p : CURVE_PERCENTS) {
                long blocks = (long) Math.floor(r.distinctBlocks() * p / 100.0);
                out.printf(Locale.ROOT, "%7.0f%% %,12d %10s %7.4f%n", p, blocks, human(blocks * 4096), c.missRatio(blocks));
            }
            for (double t : TARGETS) {
                long blocks = c.sizeForHitRatio(t);
                out.printf(Locale.ROOT, "needs %s for %.0f %% hits%n",
                        blocks < 0 ? "more than any size (cold misses alone are " + String.format(Locale.ROOT, "%.1f %%)", 100 * c.floor())
                                : human(blocks * 4096) + " (" + String.format(Locale.ROOT, "%,d", blocks) + " blocks)", 100 * t);
            }
        }
    }

    public static void csv(SimReport r, PrintWriter out) {
        out.println("trace,policy,size,blocks,segment_blocks,accesses,hits,hit_ratio,miss_ratio,byte_hit_ratio,"
                + "flash_writes,reappends,flash_writes_per_write,peak_dirty_bytes,forced_writebacks,accesses_per_second");
        for (Simulator.Row row : r.rows()) {
            ReplayResult x = row.result();
            out.printf(Locale.ROOT, "%s,%s,%s,%d,%d,%d,%d,%.6f,%.6f,%.6f,%d,%d,%.6f,%d,%d,%.0f%n", csvField(r.trace()), x.policy(),
                    row.size().label(), x.capacityBlocks(), x.segmentBlocks(), x.accesses(), x.hits(), x.hitRatio(),
                    x.missRatio(), x.byteHitRatio(), x.flashWrites(), x.reappends(), x.flashWritesPerWrite(), x.peakDirtyBytes(),
                    x.forcedWriteBacks(), x.accessesPerSecond());
        }
        if (r.mrc() != null) {
            out.println();
            out.println("cache_blocks,miss_ratio");
            MissRatioCurve c = r.mrc().curve();
            long[] sizes = c.sizes();
            double[] miss = c.missRatios();
            for (int i = 0; i < sizes.length; i++) {
                out.printf(Locale.ROOT, "%d,%.6f%n", sizes[i], miss[i]);
            }
        }
    }

    public static void json(SimReport r, PrintWriter out) {
        StringBuilder sb = new StringBuilder(4096);
        sb.append("{\"trace\":{\"name\":").append(quote(r.trace()))
                .append(",\"requests\":").append(r.requests())
                .append(",\"accesses\":").append(r.accesses())
                .append(",\"writes\":").append(r.writes())
                .append(",\"distinctBlocks\":").append(r.distinctBlocks())
                .append(",\"seconds\":").append(num(r.seconds())).append("},\"results\":[");
        String sep = "";
        for (Simulator.Row row : r.rows()) {
            ReplayResult x = row.result();
            sb.append(sep).append("{\"policy\":").append(quote(x.policy()))
                    .append(",\"size\":").append(quote(row.size().label()))
                    .append(",\"blocks\":").append(x.capacityBlocks())
                    .append(",\"segmentBlocks\":").append(x.segmentBlocks())
                    .append(",\"accesses\":").append(x.accesses())
                    .append(",\"hits\":").append(x.hits())
                    .append(",\"hitRatio\":").append(num(x.hitRatio()))
                    .append(",\"missRatio\":").append(num(x.missRatio()))
                    .append(",\"byteHitRatio\":").append(num(x.byteHitRatio()))
                    .append(",\"flashWrites\":").append(x.flashWrites())
                    .append(",\"reappends\":").append(x.reappends())
                    .append(",\"flashWritesPerWrite\":").append(num(x.flashWritesPerWrite()))
                    .append(",\"peakDirtyBytes\":").append(x.peakDirtyBytes())
                    .append(",\"forcedWriteBacks\":").append(x.forcedWriteBacks())
                    .append(",\"accessesPerSecond\":").append(Math.round(x.accessesPerSecond())).append('}');
            sep = ",";
        }
        sb.append(']');
        if (r.mrc() != null) {
            MissRatioCurve c = r.mrc().curve();
            sb.append(",\"mrc\":{\"method\":\"shards\",\"maxSamples\":").append(r.mrc().maxSamples())
                    .append(",\"samplingRate\":").append(num(r.mrc().samplingRate()))
                    .append(",\"needs\":{");
            sep = "";
            for (double t : TARGETS) {
                sb.append(sep).append('"').append(num(t)).append("\":").append(c.sizeForHitRatio(t));
                sep = ",";
            }
            sb.append("},\"points\":[");
            long[] sizes = c.sizes();
            double[] miss = c.missRatios();
            for (int i = 0; i < sizes.length; i++) {
                sb.append(i == 0 ? "" : ",").append('[').append(sizes[i]).append(',').append(num(miss[i])).append(']');
            }
            sb.append("]}");
        }
        sb.append('}');
        out.println(sb);
    }

    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : "%.1f %s", v, units[u]);
    }

    private static String num(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return "null";
        }
        return String.format(Locale.ROOT, "%.6g", d).replaceAll("(\\.\\d*?)0+(e|$)", "$1$2").replaceAll("\\.(e|$)", "$1");
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (ch < 0x20) {
                        sb.append(String.format("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    private static String csvField(String s) {
        return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
