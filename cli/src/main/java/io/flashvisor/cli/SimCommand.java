package io.flashvisor.cli;

import io.flashvisor.cache.sizing.Shards;
import io.flashvisor.common.ByteSize;
import io.flashvisor.sim.CacheSize;
import io.flashvisor.sim.MissRatioCurves;
import io.flashvisor.sim.Simulator;
import io.flashvisor.sim.policy.CachePolicies;
import io.flashvisor.sim.report.ReportWriter;
import io.flashvisor.sim.report.SimReport;
import io.flashvisor.sim.synthetic.Workloads;
import io.flashvisor.sim.trace.BlockTrace;
import io.flashvisor.sim.trace.TraceFormat;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "sim", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Replay a block trace (or a synthetic workload) through cache policies — the node's own and the",
            "textbook ones — and print hit ratio, byte hit ratio, flash writes per write and peak dirty data per",
            "policy and cache size; with --mrc, the LRU miss-ratio curve and the flash needed for 50-95 % hits."},
        footer = {"", "Policies: lru fifo clock sieve arc belady (reference models), node:s3-fifo node:lru node:clock node:fifo",
            "(the node's policies in the log-structured model; s3-fifo alone means node:s3-fifo), ref, node.",
            "Synthetic: zipf[:theta=0.99], scan[:hot=N,scan=0.5], shift[:hot=N,p=0.9,period=N], all with",
            "requests=1m,blocks=1m,write=0.3,bs=4k,iops=10k,seed=1. See docs/sim.md.",
            "", "Examples:",
            "  flashvisor sim trace.vscsi",
            "  flashvisor sim msr_src1_0.csv --policy lru,arc,s3-fifo --size 1G,4G,16G --mrc",
            "  flashvisor sim --synthetic zipf:theta=1.2,requests=5m --size 1%,10% --json"})
final class SimCommand implements Callable<Integer> {
    static final String DEFAULT_POLICIES = "lru,arc,sieve,belady,node:s3-fifo,node:lru";

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "TRACE", description = "The trace file (omit with --synthetic).")
    Path trace;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "auto",
            description = "auto, vscsi, csv (vscsi as text), msr (SNIA/MSR Cambridge), blkparse or fio (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--synthetic", paramLabel = "SPEC", description = "Generate the trace instead: e.g. zipf:theta=1.2,requests=2m.")
    String synthetic;

    @Option(names = "--policy", paramLabel = "LIST", defaultValue = DEFAULT_POLICIES, description = "Policies, comma-separated (default: ${DEFAULT-VALUE}).")
    String policies;

    @Option(names = "--size", paramLabel = "LIST", defaultValue = "1%,5%,10%,25%",
            description = "Cache sizes: % of the working set or bytes (64M, 10G), comma-separated (default: ${DEFAULT-VALUE}).")
    String sizes;

    @Option(names = "--mrc", description = "Also compute the LRU miss-ratio curve with SHARDS.")
    boolean mrc;

    @Option(names = "--mrc-samples", paramLabel = "N", defaultValue = "" + Shards.DEFAULT_MAX_SAMPLES,
            description = "SHARDS sample size (bounded memory); 0 = exact curve (default: ${DEFAULT-VALUE}).")
    int mrcSamples;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Option(names = "--csv", description = "Print CSV instead of a table.")
    boolean csv;

    @Option(names = "--segment", paramLabel = "SIZE", defaultValue = "auto",
            description = "Segment size of the node policies' log, e.g. 4M (default: ${DEFAULT-VALUE}: 4M, or smaller for caches under 1,024 segments).")
    String segment;

    @Option(names = "--streams", paramLabel = "N", defaultValue = "2", description = "Append streams of the node policies' log, 1 or 2 (default: ${DEFAULT-VALUE}).")
    int streams;

    @Option(names = "--destage-rate", paramLabel = "BYTES/S", defaultValue = "100M",
            description = "Write-back destage bandwidth in trace time, for peak dirty data; 'off' skips write-back accounting (default: ${DEFAULT-VALUE}).")
    String destageRate;

    @Option(names = "--threads", paramLabel = "N", description = "Replays run side by side (default: the number of CPUs; each replay uses one).")
    Integer threads;

    @Option(names = "--limit", paramLabel = "N", description = "Replay only the first N block accesses.")
    Integer limit;

    @Override
    public Integer call() throws Exception {
        if (json && csv) {
            throw usage("--json and --csv exclude each other");
        }
        if ((trace == null) == (synthetic == null)) {
            throw usage("give a TRACE file or --synthetic SPEC (one of them)");
        }
        Simulator.Settings settings = settings();
        PrintWriter err = spec.commandLine().getErr();
        BlockTrace t = load();
        if (t.size() == 0) {
            throw usage("the trace has no read or write requests");
        }
        List<Simulator.Row> rows = Simulator.run(t, settings);
        MissRatioCurves.Measured curve = !mrc ? null
                : mrcSamples == 0 ? MissRatioCurves.exact(t) : MissRatioCurves.shards(t, mrcSamples);
        SimReport report = SimReport.of(t, rows, curve);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ReportWriter.json(report, out);
        } else if (csv) {
            ReportWriter.csv(report, out);
        } else {
            ReportWriter.table(report, out);
        }
        out.flush();
        err.flush();
        return 0;
    }

    private Simulator.Settings settings() {
        try {
            List<String> names = CachePolicies.parse(policies);
            List<CacheSize> list = new ArrayList<>();
            for (String s : sizes.split(",")) {
                if (!s.isBlank()) {
                    list.add(CacheSize.parse(s));
                }
            }
            if (list.isEmpty()) {
                throw new IllegalArgumentException("--size needs at least one size");
            }
            int segmentBlocks = 0;
            if (!segment.equalsIgnoreCase("auto")) {
                long bytes = ByteSize.parse(segment);
                if (bytes < 4096 || bytes % 4096 != 0 || Long.bitCount(bytes) != 1 || bytes > 256L << 20) {
                    throw new IllegalArgumentException("--segment " + segment + " must be a power of two from 4K to 256M");
                }
                segmentBlocks = (int) (bytes / 4096);
            }
            if (streams != 1 && streams != 2) {
                throw new IllegalArgumentException("--streams must be 1 or 2");
            }
            if (mrcSamples != 0 && (mrcSamples < 16 || mrcSamples > 1 << 24)) {
                throw new IllegalArgumentException("--mrc-samples must be 0 (exact) or from 16 to 16777216");
            }
            long destage = destageRate.equalsIgnoreCase("off") ? -1 : ByteSize.parse(destageRate.replaceAll("(?i)/s$", ""));
            int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
            if (n < 1) {
                throw new IllegalArgumentException("--threads must be at least 1");
            }
            return new Simulator.Settings(names, list, segmentBlocks, streams, destage, n);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
    }

    private BlockTrace load() throws Exception {
        int max = limit == null ? Integer.MAX_VALUE - 16 : limit;
        if (max < 1) {
            throw usage("--limit must be at least 1");
        }
        if (synthetic != null) {
            try {
                BlockTrace t = Workloads.trace(synthetic);
                return limit == null ? t : t.head(max);
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
        }
        if (!Files.isReadable(trace)) {
            throw usage("cannot read trace file " + trace);
        }
        TraceFormat f;
        try {
            f = format.equalsIgnoreCase("auto") ? TraceFormat.detect(trace) : TraceFormat.parse(format.toLowerCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        return f.read(trace, max);
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
