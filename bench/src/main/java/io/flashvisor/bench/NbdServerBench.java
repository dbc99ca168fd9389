package io.flashvisor.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flashvisor.common.ByteSize;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The NBD server benchmark: Flashvisor's {@code serve} against {@code nbdkit file}, both serving
 * the same fully written file over a Unix socket, driven by fio's nbd engine.
 *
 * <pre>
 *   bin/bench nbd-server                                  # 1 GiB file, 15 s per run, 2 rounds
 *   bin/bench nbd-server --size 1G --runtime 15 --rounds 2
 * </pre>
 *
 * <p>Workloads: 4 KiB random reads and random writes, at queue depth 1 (latency) and 32
 * (throughput), one connection. Both servers run for the whole benchmark; each measurement runs
 * one server at a time, alternating A/B (nbdkit, then Flashvisor) for every workload in every
 * round, so slow drift of this machine (page cache, thermal, neighbours) hits both alike. Before
 * the first round each server gets {@code --warmup} seconds of mixed random I/O (JIT compilation,
 * page cache), and each run has a ramp ({@code --ramp}) that fio does not count.
 *
 * <p>Reported per workload: IOPS (mean over rounds), p50 and p99 completion latency in µs (fio's
 * clat percentiles, mean over rounds), and the ratios Flashvisor / nbdkit. Targets: IOPS ratio
 * ≥ 1.0 at depth 32, p99 ratio ≤ 1.2 at depth 1. The raw numbers of every run go to
 * {@code bench-data/nbd-server-TIMESTAMP.json}.
 */
@Command(name = "nbd-server", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Flashvisor 'serve' vs 'nbdkit file' over a Unix socket: 4 KiB randread/randwrite at iodepth 1 and 32 with fio's nbd engine.",
            "Needs fio and nbdkit (apt-get install fio nbdkit)."})
final class NbdServerBench implements Callable<Integer> {

    @Option(names = "--size", defaultValue = "1G", description = "Size of the served file (default: ${DEFAULT-VALUE}).")
    String size;

    @Option(names = "--runtime", defaultValue = "15", description = "Measured seconds per run (default: ${DEFAULT-VALUE}).")
    int runtime;

    @Option(names = "--ramp", defaultValue = "3", description = "Warm-up seconds per run, not measured (default: ${DEFAULT-VALUE}).")
    int ramp;

    @Option(names = "--rounds", defaultValue = "2", description = "A/B rounds (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--warmup", defaultValue = "10",
            description = "Seconds of 4 KiB random read/write at iodepth 32 against each server before the first round, not measured "
                    + "(JIT, page cache; default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--bs", defaultValue = "4k", description = "Block size (default: ${DEFAULT-VALUE}).")
    String bs;

    @Option(names = "--depths", defaultValue = "1,32", split = ",", description = "Queue depths (default: ${DEFAULT-VALUE}).")
    List<Integer> depths;

    @Option(names = "--workloads", defaultValue = "randread,randwrite", split = ",", description = "fio rw= values (default: ${DEFAULT-VALUE}).")
    List<String> workloads;

    @Option(names = "--data-dir", description = "Where the served file and the results go (default: bench-data/ in the Flashvisor home).")
    Path dataDir;

    @Option(names = "--direct", description = "Run flashvisor serve with --direct (O_DIRECT); nbdkit keeps its defaults.")
    boolean direct;

    private final PrintStream out = System.out;

    record Key(String workload, int depth) {
    }

    @Override
    public Integer call() throws Exception {
        long bytes = ByteSize.parse(size);
        Path home = home();
        Path jar = home.resolve("cli/target/flashvisor.jar");
        if (!Files.isRegularFile(jar)) {
            System.err.println("bench: " + jar + " is missing; build with 'mvn -DskipTests package' (bin/bench does it)");
            return 2;
        }
        Path data = dataDir != null ? dataDir : home.resolve("bench-data");
        Files.createDirectories(data);
        Path file = data.resolve("nbd-server-" + ByteSize.format(bytes) + ".img");
        prepare(file, bytes, out);

        Path run = Files.createTempDirectory(Path.of("/tmp"), "fv-bench-");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> javaOpts = new ArrayList<>();
        String envOpts = System.getenv("FLASHVISOR_JAVA_OPTS");
        if (envOpts != null && !envOpts.isBlank()) {
            javaOpts.addAll(List.of(envOpts.trim().split("\\s+")));
        }
        List<String> serveArgs = new ArrayList<>(List.of(file.toString(), "--socket", run.resolve("fv.sock").toString(), "--name", "bench"));
        if (direct) {
            serveArgs.add("--direct");
        }

        header(file, bytes, java, javaOpts);
        Map<Key, List<FioRun>> nbdkit = new LinkedHashMap<>();
        Map<Key, List<FioRun>> flashvisor = new LinkedHashMap<>();
        ObjectNode results = FioRun.JSON.createObjectNode();
        ArrayNode runs = results.putArray("runs");
        try (Server a = new Server("nbdkit", () -> ServerProcess.nbdkit(List.of("file", file.toString()), run.resolve("nbdkit.sock"), run));
             Server b = new Server("flashvisor", () -> ServerProcess.flashvisor(java, jar, javaOpts, serveArgs, run))) {
            out.printf("servers: nbdkit %s   flashvisor %s%n%n", a.uri(), b.uri());
            if (warmup > 0) {
                for (Server s : List.of(a, b)) {
                    out.printf("warm-up  %-10s randrw    iodepth 32  %d s ...%n", s.name, warmup);
                    out.flush();
                    FioRun.run(s.uri(), "randrw", bs, 32, 0, warmup, run.resolve("warmup-" + s.name + ".json"));
                }
                out.println();
            }
            int n = 0;
            int total = rounds * workloads.size() * depths.size() * 2;
            for (int round = 1; round <= rounds; round++) {
                for (String w : workloads) {
                    for (int d : depths) {
                        Key k = new Key(w, d);
                        for (Server s : List.of(a, b)) {
                            n++;
                            out.printf("[%2d/%d] round %d  %-10s %-9s iodepth %-3d ... ", n, total, round, s.name, w, d);
                            out.flush();
                            Path json = run.resolve("fio-" + n + ".json");
                            FioRun r;
                            try {
                                r = FioRun.run(s.uri(), w, bs, d, ramp, runtime, json);
                            } catch (IOException e) {
                                // Once: a server killed from outside is restarted and the run repeated.
                                if (s.isAlive()) {
                                    throw e;
                                }
                                out.printf("%s died during the run; restarting it and repeating ... ", s.name);
                                r = FioRun.run(s.uri(), w, bs, d, ramp, runtime, json);
                            }
                            (s == a ? nbdkit : flashvisor).computeIfAbsent(k, x -> new ArrayList<>()).add(r);
                            out.printf("%,9.0f IOPS  p50 %7.1f µs  p99 %7.1f µs%n", r.iops(), r.p50Micros(), r.p99Micros());
                            ObjectNode o = runs.addObject();
                            o.put("round", round).put("server", s.name).put("workload", w).put("iodepth", d).put("iops", r.iops())
                                    .put("p50_us", r.p50Micros()).put("p99_us", r.p99Micros()).put("mean_us", r.meanMicros()).put("ios", r.ios());
                        }
                    }
                }
            }
            results.put("restarts", a.restarts + b.restarts);
        }
        out.println();
        report(nbdkit, flashvisor, results);
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path resultFile = data.resolve("nbd-server-" + stamp + ".json");
        FioRun.JSON.writerWithDefaultPrettyPrinter().writeValue(resultFile.toFile(), results);
        out.println("raw results: " + resultFile);
        deleteTree(run);
        return 0;
    }

    /** A server under test that is restarted (and says so) if something outside kills it. */
    private final class Server implements AutoCloseable {
        final String name;
        private final Callable<ServerProcess> factory;
        private ServerProcess process;
        int restarts;

        Server(String name, Callable<ServerProcess> factory) throws Exception {
            this.name = name;
            this.factory = factory;
            this.process = factory.call();
        }

        boolean isAlive() {
            return process.isAlive();
        }

        /** The URI to connect to, restarting the server first if it died. */
        String uri() throws IOException {
            if (!process.isAlive()) {
                out.printf("%n%s exited (exit code %d) on its own or was killed; restarting it. Its log:%n%s%n", name,
                        process.exitCode(), process.log());
                restarts++;
                try {
                    process = factory.call();
                } catch (Exception e) {
                    throw new IOException("cannot restart " + name, e);
                }
            }
            return process.uri;
        }

        @Override
        public void close() throws InterruptedException {
            process.close();
        }
    }

    private void header(Path file, long bytes, Path java, List<String> javaOpts) throws IOException, InterruptedException {
        out.println("NBD server benchmark: flashvisor serve vs nbdkit file, fio --ioengine=nbd over a Unix socket");
        out.printf("file %s (%s, fully written)  bs %s  runtime %d s + ramp %d s  rounds %d  cpus %d%n", file, ByteSize.format(bytes), bs,
                runtime, ramp, rounds, Runtime.getRuntime().availableProcessors());
        out.printf("%s | %s | java %s %s%n", firstLine("fio", "--version"), firstLine("nbdkit", "--version"),
                Runtime.version(), javaOpts.isEmpty() ? "" : String.join(" ", javaOpts));
        out.println();
    }

    private void report(Map<Key, List<FioRun>> a, Map<Key, List<FioRun>> b, ObjectNode results) {
        String fmt = "%-10s %7s | %12s %12s %6s | %10s %10s | %10s %10s | %9s%n";
        out.printf(fmt, "workload", "iodepth", "nbdkit IOPS", "fv IOPS", "ratio", "nbdkit p50", "nbdkit p99", "fv p50", "fv p99", "p99 ratio");
        out.println("-".repeat(113));
        List<String> iopsTargets = new ArrayList<>();
        List<String> p99Targets = new ArrayList<>();
        boolean iopsMet = true;
        boolean p99Met = true;
        ArrayNode summary = results.putArray("summary");
        for (Map.Entry<Key, List<FioRun>> e : a.entrySet()) {
            Key k = e.getKey();
            List<FioRun> ra = e.getValue();
            List<FioRun> rb = b.get(k);
            double ia = mean(ra, FioRun::iops);
            double ib = mean(rb, FioRun::iops);
            double p50a = mean(ra, FioRun::p50Micros);
            double p99a = mean(ra, FioRun::p99Micros);
            double p50b = mean(rb, FioRun::p50Micros);
            double p99b = mean(rb, FioRun::p99Micros);
            double iopsRatio = ib / ia;
            double p99Ratio = p99b / p99a;
            out.printf(Locale.ROOT, fmt, k.workload(), k.depth(), String.format(Locale.ROOT, "%,.0f", ia), String.format(Locale.ROOT, "%,.0f", ib),
                    String.format(Locale.ROOT, "%.2f", iopsRatio), f1(p50a), f1(p99a), f1(p50b), f1(p99b), String.format(Locale.ROOT, "%.2f", p99Ratio));
            summary.addObject().put("workload", k.workload()).put("iodepth", k.depth()).put("nbdkit_iops", ia).put("flashvisor_iops", ib)
                    .put("iops_ratio", iopsRatio).put("nbdkit_p50_us", p50a).put("nbdkit_p99_us", p99a).put("flashvisor_p50_us", p50b)
                    .put("flashvisor_p99_us", p99b).put("p99_ratio", p99Ratio);
            if (k.depth() == 32) {
                boolean met = iopsRatio >= 1.0;
                iopsMet &= met;
                iopsTargets.add(String.format(Locale.ROOT, "%s %.2f %s", k.workload(), iopsRatio, met ? "met" : "NOT met"));
            }
            if (k.depth() == 1) {
                boolean met = p99Ratio <= 1.2;
                p99Met &= met;
                p99Targets.add(String.format(Locale.ROOT, "%s %.2f %s", k.workload(), p99Ratio, met ? "met" : "NOT met"));
            }
        }
        out.println();
        out.println("IOPS and latency: mean over " + rounds + " round(s); ratios are flashvisor / nbdkit; latencies in µs (fio clat).");
        if (!iopsTargets.isEmpty()) {
            out.println("target IOPS ratio >= 1.00 at iodepth 32: " + String.join(", ", iopsTargets) + " -> " + (iopsMet ? "MET" : "NOT MET"));
        }
        if (!p99Targets.isEmpty()) {
            out.println("target p99 ratio  <= 1.20 at iodepth 1:  " + String.join(", ", p99Targets) + " -> " + (p99Met ? "MET" : "NOT MET"));
        }
        results.put("iops_target_met", iopsMet).put("p99_target_met", p99Met);
    }

    private static String f1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    private static double mean(List<FioRun> runs, java.util.function.ToDoubleFunction<FioRun> f) {
        return runs.stream().mapToDouble(f).average().orElse(Double.NaN);
    }

    /** Writes the whole file with pseudo-random data (not sparse, not compressible) unless already done. */
    static void prepare(Path file, long bytes, PrintStream out) throws IOException {
        Path done = file.resolveSibling(file.getFileName() + ".written");
        if (Files.exists(done) && Files.exists(file) && Files.size(file) == bytes) {
            return;
        }
        out.printf("writing %s (%s of random data) ...%n", file, ByteSize.format(bytes));
        Files.deleteIfExists(done);
        SplittableRandom rnd = new SplittableRandom(20260101L);
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long pos = 0; pos < bytes; ) {
                buf.clear();
                while (buf.remaining() >= 8) {
                    buf.putLong(rnd.nextLong());
                }
                buf.flip();
                buf.limit((int) Math.min(buf.limit(), bytes - pos));
                while (buf.hasRemaining()) {
                    pos += ch.write(buf, pos);
                }
            }
            ch.force(true);
        }
        Files.writeString(done, "fully written\n");
    }

    static Path home() {
        String h = System.getProperty("flashvisor.home");
        Path p = h != null ? Path.of(h) : Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("cli"))) {
            p = p.getParent();
        }
        return p != null ? p : Path.of("").toAbsolutePath();
    }

    static String firstLine(String... cmd) throws IOException, InterruptedException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String s = new String(p.getInputStream().readAllBytes()).lines().findFirst().orElse("?");
            p.waitFor(10, TimeUnit.SECONDS);
            return s;
        } catch (IOException e) {
            throw new IOException(cmd[0] + " is not installed (apt-get install fio nbdkit)", e);
        }
    }

    static void deleteTree(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temporary files only
        }
    }
}
