package io.flashvisor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flashvisor.common.ByteSize;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import java.util.function.ToDoubleFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The flash cache benchmark: a slow SAN ({@code nbdkit --filter=delay file}, 2 ms per read and
 * write) alone, behind {@code nbdkit --filter=cache}, and behind Flashvisor write-through and
 * write-back, side by side in one run, driven by fio's nbd engine.
 *
 * <pre>
 *   bin/bench cache                                       # 1 GiB volume, 2 GiB flash, 10 s per run, 2 rounds
 *   bin/bench cache --size 1G --flash-size 2G --runtime 10 --rounds 2
 * </pre>
 *
 * <p>Systems, all running for the whole benchmark: {@code san} (fio straight to the delay
 * socket); {@code nbdkit-cache} ({@code nbdkit --filter=cache nbd socket=SAN cache=writeback
 * cache-on-read=true cache-min-block-size=4K}, its cache file in the data directory);
 * {@code fv-write-through} and {@code fv-write-back} ({@code flashvisor serve SAN-URI --cache
 * FLASH --policy ...}, the flash a file in the data directory). References:
 * {@code nbdkit-memory} ({@code nbdkit memory SIZE}) for cache hits and {@code raw-flash} (fio's
 * own {@code --ioengine=libaio --direct=1} on a flash-sized file on the same disk) for writes.
 *
 * <p>Workloads: 4 KiB random 70/30 read/write with {@code random_distribution=zipf:1.2} over the
 * whole volume (which fits the flash) at iodepth 1 and 32; 4 KiB random reads at iodepth 32 over
 * a hot region warmed into every cache first (100 % hits); 1 MiB sequential writes over the
 * second half of the volume (away from the hot region); 4 KiB random writes at iodepth 32. Each
 * round runs every workload on each of its systems in turn, rotating the order per round; before
 * a run on any other system, the benchmark waits (up to {@code --settle}) until the write-back
 * volume has destaged, so its background writes to the SAN do not load the others' runs.
 *
 * <p>Targets (reported met or not): write-back ≥ 10× the SAN's IOPS and ≤ 1/10 of its mean
 * latency on the Zipf mix; hits at iodepth 32 ≥ 0.9× nbdkit memory; write-back 4 KiB random
 * writes at iodepth 32 ≥ 0.5× the raw flash file with O_DIRECT. Every image file is deleted at the
 * end; the raw numbers go to {@code bench-data/cache-TIMESTAMP.json}.
 */
@Command(name = "cache", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Flash cache over a slow SAN (nbdkit delay filter): SAN alone, nbdkit --filter=cache, Flashvisor write-through and "
                + "write-back, side by side; references nbdkit memory (hits) and fio O_DIRECT on a raw flash file (writes).",
            "Needs fio and nbdkit (apt-get install fio nbdkit)."})
final class CacheBench implements Callable<Integer> {

    static final String SAN = "san";
    static final String NBDKIT_CACHE = "nbdkit-cache";
    static final String FV_WT = "fv-write-through";
    static final String FV_WB = "fv-write-back";
    static final String MEMORY = "nbdkit-memory";
    static final String RAW = "raw-flash";

    @Option(names = "--size", defaultValue = "1G", description = "Size of the SAN volume (default: ${DEFAULT-VALUE}).")
    String size;

    @Option(names = "--flash-size", defaultValue = "2G",
            description = "Size of each flash file (Flashvisor's, the raw O_DIRECT reference) and nbdkit's cache-max-size (default: ${DEFAULT-VALUE}).")
    String flashSize;

    @Option(names = "--hot-size", defaultValue = "256M",
            description = "Region read by the 100 %% hit workload, warmed into every cache first (default: ${DEFAULT-VALUE}).")
    String hotSize;

    @Option(names = "--runtime", defaultValue = "10", description = "Measured seconds per run (default: ${DEFAULT-VALUE}).")
    int runtime;

    @Option(names = "--ramp", defaultValue = "2", description = "Warm-up seconds per run, not measured (default: ${DEFAULT-VALUE}).")
    int ramp;

    @Option(names = "--rounds", defaultValue = "2", description = "Rounds; the order of the systems rotates per round (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--warmup", defaultValue = "10",
            description = "Seconds of the Zipf mix at iodepth 32 on every cache before the first round, not measured (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--settle", defaultValue = "30",
            description = "At most this many seconds to wait for the write-back volume to destage before a run on another system (default: ${DEFAULT-VALUE}).")
    int settle;

    @Option(names = "--delay", defaultValue = "2ms", description = "SAN latency: the delay filter's rdelay and wdelay (default: ${DEFAULT-VALUE}).")
    String delay;

    @Option(names = "--seq-depth", defaultValue = "8", description = "iodepth of the 1 MiB sequential write (default: ${DEFAULT-VALUE}).")
    int seqDepth;

    @Option(names = "--nbdkit-cache-mode", defaultValue = "writeback",
            description = "cache= of nbdkit's cache filter: writeback (its default; writes stay in its cache until a flush), writethrough or unsafe "
                    + "(default: ${DEFAULT-VALUE}).")
    String nbdkitCacheMode;

    @Option(names = "--cache-direct", description = "Run flashvisor serve with --cache-direct (O_DIRECT flash file, bypassing the page cache).")
    boolean cacheDirect;

    @Option(names = "--data-dir", description = "Where the images (deleted at the end) and the results go (default: bench-data/ in the Flashvisor home).")
    Path dataDir;

    private final PrintStream out = System.out;

    /** One workload: fio arguments besides the target, which fio section to read, its systems and its reference system. */
    record Workload(String id, String title, List<String> fioArgs, String direction, List<String> systems, String reference) {
    }

    /** One measured run plus what the servers did meanwhile. */
    record Cell(FioRun fio, double serverCpuPercent, double hostBusyPercent, double hitPercent) {
    }

    @Override
    public Integer call() throws Exception {
        long bytes = ByteSize.parse(size);
        long flashBytes = ByteSize.parse(flashSize);
        long hotBytes = Math.min(ByteSize.parse(hotSize), bytes / 2);
        Path home = NbdServerBench.home();
        Path jar = home.resolve("cli/target/flashvisor.jar");
        if (!Files.isRegularFile(jar)) {
            System.err.println("bench: " + jar + " is missing; build with 'mvn -DskipTests package' (bin/bench does it)");
            return 2;
        }
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path data = (dataDir != null ? dataDir : home.resolve("bench-data")).toAbsolutePath();
        Files.createDirectories(data);
        Path images = Files.createDirectories(data.resolve("cache-" + stamp + ".images"));
        Path run = Files.createTempDirectory(Path.of("/tmp"), "fv-bench-");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> javaOpts = new ArrayList<>();
        String envOpts = System.getenv("FLASHVISOR_JAVA_OPTS");
        if (envOpts != null && !envOpts.isBlank()) {
            javaOpts.addAll(List.of(envOpts.trim().split("\\s+")));
        }

        List<Workload> workloads = workloads(bytes, hotBytes);
        Stack stack = new Stack(run, images, java, jar, javaOpts, bytes, flashBytes);
        Thread cleanup = new Thread(() -> {
            FioRun.killAll();
            stack.close();
            NbdServerBench.deleteTree(images);
            NbdServerBench.deleteTree(run);
        }, "bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        Map<String, Map<String, List<Cell>>> cells = new LinkedHashMap<>();
        ObjectNode results = FioRun.JSON.createObjectNode();
        long started = System.nanoTime();
        try {
            header(images, bytes, flashBytes, hotBytes, java, javaOpts);
            Path san = images.resolve("san.img");
            Path raw = images.resolve("raw-flash.img");
            NbdServerBench.prepare(san, bytes, out);
            NbdServerBench.prepare(raw, flashBytes, out);
            stack.start();
            out.printf("servers: %s%n%n", String.join("  ", stack.uris()));
            warm(stack, hotBytes, run);

            ArrayNode runs = results.putArray("runs");
            int n = 0;
            int total = rounds * workloads.stream().mapToInt(w -> w.systems().size()).sum();
            for (int round = 1; round <= rounds; round++) {
                for (Workload w : workloads) {
                    List<String> order = new ArrayList<>(w.systems());
                    Collections.rotate(order, -(round - 1));
                    for (String system : order) {
                        n++;
                        if (!system.equals(FV_WB)) {
                            settle(stack);
                        }
                        out.printf("[%2d/%d] round %d  %-22s %-17s ... ", n, total, round, w.id(), system);
                        out.flush();
                        Cell c = measure(stack, w, system, raw, flashBytes, run.resolve("fio-" + n + ".json"));
                        cells.computeIfAbsent(w.id(), x -> new LinkedHashMap<>()).computeIfAbsent(system, x -> new ArrayList<>()).add(c);
                        FioRun r = c.fio();
                        out.printf(Locale.ROOT, "%,9.0f IOPS  p50 %8.1f µs  p99 %8.1f µs  mean %8.1f µs  server CPU %3.0f%%  host busy %3.0f%%%s%n",
                                r.iops(), r.p50Micros(), r.p99Micros(), r.meanMicros(), c.serverCpuPercent(), c.hostBusyPercent(),
                                Double.isNaN(c.hitPercent()) ? "" : String.format(Locale.ROOT, "  hits %.1f%%", c.hitPercent()));
                        ObjectNode o = runs.addObject();
                        o.put("round", round).put("workload", w.id()).put("system", system).put("iops", r.iops()).put("mib_s", r.mibPerSecond())
                                .put("p50_us", r.p50Micros()).put("p99_us", r.p99Micros()).put("mean_us", r.meanMicros()).put("ios", r.ios())
                                .put("server_cpu_pct", c.serverCpuPercent()).put("host_busy_pct", c.hostBusyPercent()).put("fio_cpu_pct", r.cpuPercent());
                        if (!Double.isNaN(c.hitPercent())) {
                            o.put("hit_pct", c.hitPercent());
                        }
                        if (system.equals(FV_WB)) {
                            JsonNode v = stack.volumeStatus(FV_WB);
                            if (v != null) {
                                o.put("dirty_bytes_after", v.path("dirtyBytes").asLong());
                            }
                        }
                    }
                }
            }
            results.put("restarts", stack.restarts());
        } finally {
            FioRun.killAll();
            stack.close();
            NbdServerBench.deleteTree(images);
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
        out.println();
        report(workloads, cells, results);
        out.printf(Locale.ROOT, "%nimages deleted; total time %.0f s%n", (System.nanoTime() - started) / 1e9);
        Path resultFile = data.resolve("cache-" + stamp + ".json");
        FioRun.JSON.writerWithDefaultPrettyPrinter().writeValue(resultFile.toFile(), results);
        out.println("raw results: " + resultFile);
        NbdServerBench.deleteTree(run);
        return 0;
    }

    private List<Workload> workloads(long bytes, long hotBytes) {
        List<String> zipf = List.of("--rw=randrw", "--rwmixread=70", "--random_distribution=zipf:1.2", "--bs=4k", "--unified_rw_reporting=mixed");
        List<String> mixSystems = List.of(SAN, NBDKIT_CACHE, FV_WT, FV_WB);
        List<Workload> w = new ArrayList<>();
        w.add(new Workload("zipf-mix-qd1", "4 KiB random 70/30 read/write, zipf:1.2, iodepth 1", concat(zipf, "--iodepth=1"), "mixed", mixSystems, SAN));
        w.add(new Workload("zipf-mix-qd32", "4 KiB random 70/30 read/write, zipf:1.2, iodepth 32", concat(zipf, "--iodepth=32"), "mixed", mixSystems, SAN));
        w.add(new Workload("hits-randread-qd32", "4 KiB random read of the warmed " + ByteSize.format(hotBytes) + ", iodepth 32",
                List.of("--rw=randread", "--bs=4k", "--iodepth=32", "--size=" + hotBytes), "read", List.of(MEMORY, NBDKIT_CACHE, FV_WT, FV_WB), MEMORY));
        w.add(new Workload("seqwrite-1M", "1 MiB sequential write over the second half, iodepth " + seqDepth,
                List.of("--rw=write", "--bs=1m", "--iodepth=" + seqDepth, "--offset=" + bytes / 2, "--size=" + bytes / 2), "write", mixSystems, SAN));
        w.add(new Workload("randwrite-qd32", "4 KiB random write, iodepth 32",
                List.of("--rw=randwrite", "--bs=4k", "--iodepth=32"), "write", List.of(RAW, NBDKIT_CACHE, FV_WB), RAW));
        return w;
    }

    private static List<String> concat(List<String> a, String... b) {
        List<String> l = new ArrayList<>(a);
        l.addAll(List.of(b));
        return l;
    }

    /** Fills the hot region of every cache (and of nbdkit memory), then runs the Zipf mix on every cache for --warmup seconds. */
    private void warm(Stack stack, long hotBytes, Path run) throws Exception {
        for (String s : List.of(MEMORY, NBDKIT_CACHE, FV_WT, FV_WB)) {
            // 64 KiB random reads (random, so no sequential-stream bypass) touch every block of the hot region once;
            // nbdkit memory is filled by writing it (reading its holes would measure nothing).
            String rw = s.equals(MEMORY) ? "randwrite" : "randread";
            out.printf("warm-up  %-17s %s the first %s (64 KiB, iodepth 32) ... ", s, rw, ByteSize.format(hotBytes));
            out.flush();
            long t0 = System.nanoTime();
            JsonNode before = stack.volumeStatus(s);
            withRestart(stack, s, () -> FioRun.once(List.of("--ioengine=nbd", "--uri=" + stack.uri(s), "--rw=" + rw, "--bs=64k", "--iodepth=32",
                    "--size=" + hotBytes), rw.equals("randread") ? "read" : "write", 900, run.resolve("warm-" + s + ".json"), stack.healthy(s)));
            out.printf(Locale.ROOT, "%.1f s%s%n", (System.nanoTime() - t0) / 1e9, hitText(before, stack.volumeStatus(s)));
        }
        if (warmup > 0) {
            for (String s : List.of(NBDKIT_CACHE, FV_WT, FV_WB)) {
                out.printf("warm-up  %-17s zipf-mix iodepth 32 %d s ...%n", s, warmup);
                out.flush();
                withRestart(stack, s, () -> FioRun.run(List.of("--ioengine=nbd", "--uri=" + stack.uri(s), "--rw=randrw", "--rwmixread=70",
                        "--random_distribution=zipf:1.2", "--bs=4k", "--iodepth=32", "--unified_rw_reporting=mixed"), "mixed", 0, warmup,
                        run.resolve("warm-zipf-" + s + ".json"), stack.healthy(s)));
            }
        }
        out.println();
    }

    private static String hitText(JsonNode before, JsonNode after) {
        double h = hitPercent(before, after);
        return Double.isNaN(h) ? "" : String.format(Locale.ROOT, " (%.0f%% hits)", h);
    }

    private static double hitPercent(JsonNode before, JsonNode after) {
        if (before == null || after == null) {
            return Double.NaN;
        }
        long hits = after.path("hits").asLong() - before.path("hits").asLong();
        long misses = after.path("misses").asLong() - before.path("misses").asLong();
        return hits + misses == 0 ? Double.NaN : 100.0 * hits / (hits + misses);
    }

    private Cell measure(Stack stack, Workload w, String system, Path raw, long flashBytes, Path json) throws Exception {
        List<String> args = new ArrayList<>();
        if (system.equals(RAW)) {
            args.addAll(List.of("--ioengine=libaio", "--direct=1", "--filename=" + raw, "--size=" + flashBytes));
        } else {
            args.addAll(List.of("--ioengine=nbd", "--uri=" + stack.uri(system)));
        }
        args.addAll(w.fioArgs());
        JsonNode before = stack.volumeStatus(system);
        Duration cpu0 = stack.cpu(system);
        long[] host0 = hostTicks();
        long t0 = System.nanoTime();
        FioRun r = withRestart(stack, system, () -> FioRun.run(args, w.direction(), ramp, runtime, json, stack.healthy(system)));
        double wall = (System.nanoTime() - t0) / 1e9;
        long[] host1 = hostTicks();
        double cpu = 100.0 * (stack.cpu(system).minus(cpu0).toNanos() / 1e9) / wall;
        double busy = host1[1] - host0[1] == 0 ? Double.NaN : 100.0 * (host1[0] - host0[0]) / (host1[1] - host0[1]);
        return new Cell(r, cpu, busy, hitPercent(before, stack.volumeStatus(system)));
    }

    interface Run<T> {
        T call() throws Exception;
    }

    /** Runs {@code r}; if a server of the system died meanwhile, restarts what is needed and runs it once more. */
    private <T> T withRestart(Stack stack, String system, Run<T> r) throws Exception {
        stack.ensureAlive();
        try {
            return r.call();
        } catch (IOException e) {
            if (stack.healthy(system).getAsBoolean()) {
                throw e;
            }
            out.printf("%n%s%n", e.getMessage());
            stack.ensureAlive();
            out.print("repeating the run ... ");
            return r.call();
        }
    }

    /** Waits until the write-back volume has no dirty data (at most --settle seconds). */
    private void settle(Stack stack) throws InterruptedException {
        JsonNode v = stack.volumeStatus(FV_WB);
        if (v == null || v.path("dirtyBytes").asLong() == 0 || settle <= 0) {
            return;
        }
        long t0 = System.nanoTime();
        long dirty0 = v.path("dirtyBytes").asLong();
        long deadline = t0 + Duration.ofSeconds(settle).toNanos();
        long dirty = dirty0;
        while (dirty > 0 && System.nanoTime() < deadline) {
            Thread.sleep(250);
            v = stack.volumeStatus(FV_WB);
            dirty = v == null ? 0 : v.path("dirtyBytes").asLong();
        }
        out.printf(Locale.ROOT, "       (write-back destaging: %s dirty -> %s in %.1f s%s)%n", ByteSize.format(dirty0), ByteSize.format(dirty),
                (System.nanoTime() - t0) / 1e9, dirty > 0 ? ", --settle reached, going on" : "");
    }

    /** Busy and total jiffies of all CPUs, from /proc/stat. */
    private static long[] hostTicks() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            return new long[] {total - idle, total};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    private void header(Path images, long bytes, long flashBytes, long hotBytes, Path java, List<String> javaOpts)
            throws IOException, InterruptedException {
        out.println("Flash cache benchmark: a slow SAN (nbdkit delay filter) alone, behind nbdkit --filter=cache and behind Flashvisor, "
                + "fio --ioengine=nbd over Unix sockets");
        out.printf("SAN %s with rdelay=wdelay=%s  flash %s (files in %s%s)  hot region %s  runtime %d s + ramp %d s  rounds %d  cpus %d%n",
                ByteSize.format(bytes), delay, ByteSize.format(flashBytes), images, cacheDirect ? ", Flashvisor with --cache-direct" : "",
                ByteSize.format(hotBytes), runtime, ramp, rounds, Runtime.getRuntime().availableProcessors());
        out.printf("nbdkit-cache: cache=%s cache-on-read=true cache-min-block-size=4K cache-max-size=%s%n", nbdkitCacheMode, ByteSize.format(flashBytes));
        out.printf("%s | %s | java %s %s%n", NbdServerBench.firstLine("fio", "--version"), NbdServerBench.firstLine("nbdkit", "--version"),
                Runtime.version(), javaOpts.isEmpty() ? "" : String.join(" ", javaOpts));
        out.println();
    }

    private void report(List<Workload> workloads, Map<String, Map<String, List<Cell>>> cells, ObjectNode results) {
        out.println("| workload | system | IOPS | MiB/s | p50 µs | p99 µs | mean µs | IOPS ratio | mean-latency ratio | server CPU % | host busy % | hits % |");
        out.println("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        ArrayNode summary = results.putArray("summary");
        Map<String, Map<String, double[]>> means = new LinkedHashMap<>();
        for (Workload w : workloads) {
            Map<String, List<Cell>> bySystem = cells.getOrDefault(w.id(), Map.of());
            List<Cell> ref = bySystem.get(w.reference());
            double refIops = ref == null ? Double.NaN : mean(ref, c -> c.fio().iops());
            double refMean = ref == null ? Double.NaN : mean(ref, c -> c.fio().meanMicros());
            for (String s : w.systems()) {
                List<Cell> cs = bySystem.get(s);
                if (cs == null) {
                    continue;
                }
                double iops = mean(cs, c -> c.fio().iops());
                double mib = mean(cs, c -> c.fio().mibPerSecond());
                double p50 = mean(cs, c -> c.fio().p50Micros());
                double p99 = mean(cs, c -> c.fio().p99Micros());
                double lat = mean(cs, c -> c.fio().meanMicros());
                double cpu = mean(cs, Cell::serverCpuPercent);
                double busy = mean(cs, Cell::hostBusyPercent);
                double hits = mean(cs, Cell::hitPercent);
                means.computeIfAbsent(w.id(), x -> new LinkedHashMap<>()).put(s, new double[] {iops, lat});
                boolean isRef = s.equals(w.reference());
                out.printf(Locale.ROOT, "| %s | %s | %,.0f | %.1f | %.1f | %.1f | %.1f | %s | %s | %s | %.0f | %s |%n", w.id(), isRef ? "**" + s + "**" : s,
                        iops, mib, p50, p99, lat, isRef ? "1" : String.format(Locale.ROOT, "%.2f", iops / refIops),
                        isRef ? "1" : String.format(Locale.ROOT, "%.3f", lat / refMean),
                        s.equals(RAW) ? "(fio)" : String.format(Locale.ROOT, "%.0f", cpu), busy, Double.isNaN(hits) ? "" : String.format(Locale.ROOT, "%.1f", hits));
                summary.addObject().put("workload", w.id()).put("system", s).put("reference", w.reference()).put("iops", iops).put("mib_s", mib)
                        .put("p50_us", p50).put("p99_us", p99).put("mean_us", lat).put("iops_ratio", iops / refIops).put("mean_latency_ratio", lat / refMean)
                        .put("server_cpu_pct", cpu).put("host_busy_pct", busy);
            }
        }
        out.println();
        out.println("Mean over " + rounds + " round(s). Ratios are against the workload's reference in bold (SAN alone; nbdkit memory for hits; "
                + "fio libaio O_DIRECT on the raw flash file for random writes). Latencies: fio completion latency (clat); the Zipf mix reports reads "
                + "and writes together (unified_rw_reporting=mixed). server CPU: the front server process, % of one core. hits: Flashvisor's hit "
                + "counters over the run.");
        out.println();
        ObjectNode targets = results.putObject("targets");
        for (String mix : List.of("zipf-mix-qd1", "zipf-mix-qd32")) {
            double[] wb = get(means, mix, FV_WB);
            double[] san = get(means, mix, SAN);
            double xi = wb[0] / san[0];
            double xl = wb[1] / san[1];
            target(targets, mix + " write-back IOPS >= 10x SAN", xi, xi >= 10, "%.1fx");
            target(targets, mix + " write-back mean latency <= 1/10 SAN", xl, xl <= 0.1, "%.3fx");
        }
        double[] mem = get(means, "hits-randread-qd32", MEMORY);
        for (String s : List.of(FV_WT, FV_WB)) {
            double x = get(means, "hits-randread-qd32", s)[0] / mem[0];
            target(targets, "hits qd32 " + s + " IOPS >= 0.9x nbdkit memory", x, x >= 0.9, "%.2fx");
        }
        double x = get(means, "randwrite-qd32", FV_WB)[0] / get(means, "randwrite-qd32", RAW)[0];
        target(targets, "randwrite qd32 write-back IOPS >= 0.5x raw flash O_DIRECT", x, x >= 0.5, "%.2fx");
    }

    private static double[] get(Map<String, Map<String, double[]>> means, String workload, String system) {
        return means.getOrDefault(workload, Map.of()).getOrDefault(system, new double[] {Double.NaN, Double.NaN});
    }

    private void target(ObjectNode targets, String what, double value, boolean met, String fmt) {
        out.printf(Locale.ROOT, "- target %s: " + fmt + " -> %s%n", what, value, met ? "MET" : "NOT MET");
        targets.putObject(what).put("value", value).put("met", met);
    }

    private static double mean(List<Cell> cells, ToDoubleFunction<Cell> f) {
        return cells.stream().mapToDouble(f).filter(d -> !Double.isNaN(d)).average().orElse(Double.NaN);
    }

    /** A server under test, restarted (and counted) if something outside kills it. */
    private static final class Server {
        final String name;
        final Callable<ServerProcess> factory;
        final Path control;
        ServerProcess process;
        int restarts;

        Server(String name, Path control, Callable<ServerProcess> factory) {
            this.name = name;
            this.control = control;
            this.factory = factory;
        }

        boolean alive() {
            return process != null && process.isAlive();
        }
    }

    /** All servers: the SAN first, the caches over it, nbdkit memory. Closed in reverse order (the SAN last). */
    private final class Stack implements AutoCloseable {
        private final Map<String, Server> servers = new LinkedHashMap<>();

        Stack(Path run, Path images, Path java, Path jar, List<String> javaOpts, long bytes, long flashBytes) {
            Path sanSock = run.resolve("san.sock");
            String sanUri = "nbd+unix:///?socket=" + sanSock;
            add(SAN, null, () -> ServerProcess.nbdkit(SAN, List.of("--filter=delay", "file", images.resolve("san.img").toString(),
                    "rdelay=" + delay, "wdelay=" + delay), sanSock, run, Map.of()));
            add(NBDKIT_CACHE, null, () -> ServerProcess.nbdkit(NBDKIT_CACHE, List.of("--filter=cache", "nbd", "socket=" + sanSock,
                    "cache=" + nbdkitCacheMode, "cache-on-read=true", "cache-min-block-size=4K", "cache-max-size=" + flashBytes),
                    run.resolve("nbdkit-cache.sock"), run, Map.of("TMPDIR", images.toString())));
            add(MEMORY, null, () -> ServerProcess.nbdkit(MEMORY, List.of("memory", String.valueOf(bytes)), run.resolve("memory.sock"), run, Map.of()));
            for (String[] p : new String[][] {{FV_WT, "write-through", "wt"}, {FV_WB, "write-back", "wb"}}) {
                Path ctl = run.resolve(p[2] + ".ctl");
                List<String> serve = new ArrayList<>(List.of(sanUri, "--socket", run.resolve(p[2] + ".sock").toString(), "--name", p[2],
                        "--cache", images.resolve(p[2] + ".flash").toString(), "--cache-size", String.valueOf(flashBytes), "--policy", p[1],
                        "--control", ctl.toString()));
                if (cacheDirect) {
                    serve.add("--cache-direct");
                }
                add(p[0], ctl, () -> ServerProcess.flashvisor(p[0], java, jar, javaOpts, serve, run));
            }
        }

        private void add(String name, Path control, Callable<ServerProcess> factory) {
            servers.put(name, new Server(name, control, factory));
        }

        void start() throws Exception {
            for (Server s : servers.values()) {
                s.process = s.factory.call();
            }
        }

        List<String> uris() {
            return servers.values().stream().map(s -> s.name + " " + s.process.uri).toList();
        }

        String uri(String name) {
            return servers.get(name).process.uri;
        }

        /** Whether the system (and the SAN under it) is still running; the raw flash file has no server. */
        BooleanSupplier healthy(String name) {
            Server s = servers.get(name);
            Server san = servers.get(SAN);
            if (s == null) {
                return () -> true;
            }
            boolean needsSan = !name.equals(MEMORY);
            return () -> s.alive() && (!needsSan || san.alive());
        }

        /**
         * Restarts whatever died. A SAN restart also restarts the Flashvisor servers (they keep
         * their backing connections; their flash survives, a warm restart); nbdkit's nbd plugin
         * connects anew for each client.
         */
        void ensureAlive() throws Exception {
            Server san = servers.get(SAN);
            boolean sanRestarted = false;
            if (!san.alive()) {
                restart(san);
                sanRestarted = true;
            }
            for (Server s : servers.values()) {
                if (s == san) {
                    continue;
                }
                boolean flashvisor = s.control != null;
                if (!s.alive() || (sanRestarted && flashvisor)) {
                    restart(s);
                }
            }
        }

        private void restart(Server s) throws Exception {
            if (s.process != null) {
                out.printf("%n%s %s (exit code %d); restarting it. Its log ends:%n%s%n", s.name, s.process.isAlive() ? "must restart" : "died",
                        s.process.exitCode(), tail(s.process.log()));
                s.process.close();
            }
            s.restarts++;
            s.process = s.factory.call();
        }

        int restarts() {
            return servers.values().stream().mapToInt(s -> s.restarts).sum();
        }

        Duration cpu(String name) {
            Server s = servers.get(name);
            return s == null || s.process == null ? Duration.ZERO : s.process.cpu();
        }

        /** The Flashvisor volume's entry of {@code status} on its control socket, or null (not Flashvisor, or no answer). */
        JsonNode volumeStatus(String name) {
            Server s = servers.get(name);
            if (s == null || s.control == null || !s.alive()) {
                return null;
            }
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(s.control));
                OutputStream o = Channels.newOutputStream(ch);
                o.write("status\n".getBytes(StandardCharsets.UTF_8));
                o.flush();
                ch.shutdownOutput();
                InputStream in = Channels.newInputStream(ch);
                JsonNode root = FioRun.JSON.readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                JsonNode vols = root.path("volumes");
                return vols.isArray() && !vols.isEmpty() ? vols.get(0) : null;
            } catch (IOException e) {
                return null;
            }
        }

        @Override
        public synchronized void close() {
            List<Server> all = new ArrayList<>(servers.values());
            Collections.reverse(all);
            for (Server s : all) {
                if (s.process != null) {
                    try {
                        s.process.close();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        }
    }

    private static String tail(String log) {
        List<String> lines = log.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    }
}
