package io.flashvisor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flashvisor.common.ByteSize;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The replication benchmark (issue 4): a 3-host cluster on this machine — three {@code flashvisor
 * node} processes (hv-a, hv-b, hv-c in fault domains rack-1/2/3; hv-b runs the embedded ZooKeeper)
 * — over one slow SAN ({@code nbdkit --filter=delay file dir=...}, 2 ms per read and write, one
 * image per volume), driven by fio's nbd engine.
 *
 * <pre>
 *   bin/bench replication                                 # 512 MiB volumes, 1 GiB flash per host, 10 s per run, 2 rounds
 *   bin/bench replication --size 512M --flash-size 1G --runtime 10 --rounds 2 --session-timeout 2s
 * </pre>
 *
 * <p>hv-a (started last, so that its peers are live when it claims its volumes and places their
 * replicas) serves four volumes, each over its own SAN image: {@code r0} write-back with
 * {@code replicas: 0}, {@code r1} write-back with {@code replicas: 1}, {@code r2} write-back with
 * {@code replicas: 2}, {@code wt} write-through. hv-b and hv-c serve only a scratch volume each and
 * hold r1's and r2's replicas.
 *
 * <p>Workloads: 4 KiB random writes at iodepth 1 and 32 on each volume; each round runs both on
 * every volume, rotating the order of the volumes per round. Before every run the write-back
 * volumes are drained ({@code drain} on hv-a's control socket), so one volume's destaging does not
 * load another's run. Targets (reported met or not): r1's p50 ≤ 2× r0's; r1's IOPS at iodepth 32 ≥
 * 0.6× r0's.
 *
 * <p>Takeover: fio writes r1 at iodepth 32 with {@code verify=crc32c} headers for a few seconds (the
 * SAN is slow, so megabytes are dirty), stops at its trigger file (saving its verify state and
 * killing itself — fio's nbd engine must never be connected to a server that dies), then hv-a is
 * killed with SIGKILL. The benchmark polls the volume records on a surviving host every 50 ms and
 * reports when r1 (and r2) got a new owner (the holder won the next epoch: the old owner's
 * session had expired) and when the record showed no owner and state CLEAN (every acknowledged
 * write on the SAN: from then on any host may serve the volume). Finally {@code fio --verify_only}
 * reads the SAN image directly: every write fio saw acknowledged must be there. Every image file is
 * deleted at the end; the raw numbers go to {@code bench-data/replication-TIMESTAMP.json}.
 */
@Command(name = "replication", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"3-host loopback cluster over a slow SAN (nbdkit delay filter): write-back with replicas 0, 1, 2 and write-through, "
                + "4 KiB random writes at iodepth 1 and 32, side by side; then the owner is killed and the takeover timed and verified.",
            "Needs fio and nbdkit (apt-get install fio nbdkit)."})
final class ReplicationBench implements Callable<Integer> {

    static final String R0 = "r0";
    static final String R1 = "r1";
    static final String R2 = "r2";
    static final String WT = "wt";
    static final List<String> VOLUMES = List.of(R0, R1, R2, WT);
    static final List<String> WRITE_BACK = List.of(R0, R1, R2);
    static final String A = "hv-a";
    static final String B = "hv-b";
    static final String C = "hv-c";

    @Option(names = "--size", defaultValue = "512M", description = "Size of each volume's SAN image (default: ${DEFAULT-VALUE}).")
    String size;

    @Option(names = "--flash-size", defaultValue = "1G", description = "Size of each host's flash file (default: ${DEFAULT-VALUE}).")
    String flashSize;

    @Option(names = "--runtime", defaultValue = "10", description = "Measured seconds per run (default: ${DEFAULT-VALUE}).")
    int runtime;

    @Option(names = "--ramp", defaultValue = "2", description = "Warm-up seconds per run, not measured (default: ${DEFAULT-VALUE}).")
    int ramp;

    @Option(names = "--rounds", defaultValue = "2", description = "Rounds; the order of the volumes rotates per round (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--delay", defaultValue = "2ms", description = "SAN latency: the delay filter's rdelay and wdelay (default: ${DEFAULT-VALUE}).")
    String delay;

    @Option(names = "--session-timeout", defaultValue = "2s", description = "cluster.session-timeout of every host (default: ${DEFAULT-VALUE}).")
    String sessionTimeout;

    @Option(names = "--settle", defaultValue = "120",
            description = "At most this many seconds to drain each write-back volume before a run (default: ${DEFAULT-VALUE}).")
    int settle;

    @Option(names = "--takeover-write", defaultValue = "4",
            description = "Seconds of 4 KiB random writes at iodepth 32 on r1 before its owner is killed (default: ${DEFAULT-VALUE}).")
    int takeoverWrite;

    @Option(names = "--no-takeover", description = "Skip the takeover measurement.")
    boolean noTakeover;

    @Option(names = "--flash-dir", description = "Where the hosts' flash files go (default: with the images). On one machine"
            + " all three hosts' fdatasyncs queue on the same disk; a RAM directory such as /dev/shm stands in for each host's"
            + " own NVMe device.")
    Path flashDir;

    @Option(names = "--data-dir", description = "Where the images (deleted at the end) and the results go (default: bench-data/ in the Flashvisor home).")
    Path dataDir;

    private final PrintStream out = System.out;

    /** One workload: fio arguments besides the target. */
    record Workload(String id, List<String> fioArgs) {
    }

    /** One measured run plus what the servers did meanwhile (CPU in % of one core). */
    record Cell(FioRun fio, double cpuA, double cpuB, double cpuC, double hostBusyPercent, long fallbackWrites, String health) {
    }

    @Override
    public Integer call() throws Exception {
        long bytes = ByteSize.parse(size);
        long flashBytes = ByteSize.parse(flashSize);
        Path home = NbdServerBench.home();
        Path jar = home.resolve("cli/target/flashvisor.jar");
        if (!Files.isRegularFile(jar)) {
            System.err.println("bench: " + jar + " is missing; build with 'mvn -DskipTests package' (bin/bench does it)");
            return 2;
        }
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path data = (dataDir != null ? dataDir : home.resolve("bench-data")).toAbsolutePath();
        Files.createDirectories(data);
        Path images = Files.createDirectories(data.resolve("replication-" + stamp + ".images"));
        Path run = Files.createTempDirectory(Path.of("/tmp"), "fv-bench-");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> javaOpts = new ArrayList<>();
        String envOpts = System.getenv("FLASHVISOR_JAVA_OPTS");
        if (envOpts != null && !envOpts.isBlank()) {
            javaOpts.addAll(List.of(envOpts.trim().split("\\s+")));
        }

        Path flashFiles = flashDir == null ? images : Files.createTempDirectory(flashDir.toAbsolutePath(), "fv-bench-flash-");
        Cluster cluster = new Cluster(run, images, flashFiles, java, jar, javaOpts, flashBytes);
        Thread cleanup = new Thread(() -> {
            FioRun.killAll();
            cluster.close();
            NbdServerBench.deleteTree(images);
            NbdServerBench.deleteTree(flashFiles);
            NbdServerBench.deleteTree(run);
        }, "bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        List<Workload> workloads = List.of(
                new Workload("randwrite-qd1", List.of("--rw=randwrite", "--bs=4k", "--iodepth=1")),
                new Workload("randwrite-qd32", List.of("--rw=randwrite", "--bs=4k", "--iodepth=32")));
        Map<String, Map<String, List<Cell>>> cells = new LinkedHashMap<>();
        ObjectNode results = FioRun.JSON.createObjectNode();
        results.put("size_bytes", bytes).put("flash_bytes", flashBytes).put("delay", delay).put("session_timeout", sessionTimeout)
                .put("runtime_s", runtime).put("ramp_s", ramp).put("rounds", rounds).put("cpus", Runtime.getRuntime().availableProcessors());
        long started = System.nanoTime();
        ObjectNode takeover = null;
        try {
            header(flashFiles, bytes, flashBytes, javaOpts);
            Path sanDir = Files.createDirectories(images.resolve("san"));
            for (String v : VOLUMES) {
                sparse(sanDir.resolve(v), bytes);
            }
            cluster.start(sanDir, bytes);
            out.println();

            ArrayNode runs = results.putArray("runs");
            int n = 0;
            int total = rounds * workloads.size() * VOLUMES.size();
            for (int round = 1; round <= rounds; round++) {
                for (Workload w : workloads) {
                    List<String> order = new ArrayList<>(VOLUMES);
                    Collections.rotate(order, -(round - 1));
                    for (String volume : order) {
                        n++;
                        cluster.drainAll();
                        out.printf("[%2d/%d] round %d  %-15s %-3s ... ", n, total, round, w.id(), volume);
                        out.flush();
                        Cell c = measure(cluster, w, volume, run.resolve("fio-" + n + ".json"));
                        cells.computeIfAbsent(w.id(), x -> new LinkedHashMap<>()).computeIfAbsent(volume, x -> new ArrayList<>()).add(c);
                        FioRun r = c.fio();
                        out.printf(Locale.ROOT, "%,9.0f IOPS  p50 %8.1f µs  p99 %8.1f µs  mean %8.1f µs  CPU a/b/c %3.0f/%3.0f/%3.0f%%  host busy %3.0f%%  %s%s%n",
                                r.iops(), r.p50Micros(), r.p99Micros(), r.meanMicros(), c.cpuA(), c.cpuB(), c.cpuC(), c.hostBusyPercent(), c.health(),
                                c.fallbackWrites() > 0 ? "  fallback writes " + c.fallbackWrites() : "");
                        runs.addObject().put("round", round).put("workload", w.id()).put("volume", volume).put("iops", r.iops())
                                .put("p50_us", r.p50Micros()).put("p99_us", r.p99Micros()).put("mean_us", r.meanMicros()).put("ios", r.ios())
                                .put("cpu_hv_a_pct", c.cpuA()).put("cpu_hv_b_pct", c.cpuB()).put("cpu_hv_c_pct", c.cpuC())
                                .put("host_busy_pct", c.hostBusyPercent()).put("fio_cpu_pct", r.cpuPercent()).put("health_after", c.health())
                                .put("fallback_writes", c.fallbackWrites());
                    }
                }
            }
            if (!noTakeover) {
                cluster.drainAll();
                out.println();
                takeover = takeover(cluster, sanDir.resolve(R1), bytes, run);
                results.set("takeover", takeover);
            }
        } finally {
            FioRun.killAll();
            cluster.close();
            NbdServerBench.deleteTree(images);
            NbdServerBench.deleteTree(flashFiles);
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
        out.println();
        report(workloads, cells, results);
        if (takeover != null) {
            printTakeover(takeover);
        }
        out.printf(Locale.ROOT, "%nimages deleted; total time %.0f s%n", (System.nanoTime() - started) / 1e9);
        Path resultFile = data.resolve("replication-" + stamp + ".json");
        FioRun.JSON.writerWithDefaultPrettyPrinter().writeValue(resultFile.toFile(), results);
        out.println("raw results: " + resultFile);
        Path logs = Files.createDirectories(data.resolve("replication-" + stamp + ".logs"));
        try (var files = Files.list(run)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".log")).toList()) {
                Files.copy(f, logs.resolve(f.getFileName()));
            }
        }
        out.println("the nodes' logs: " + logs);
        NbdServerBench.deleteTree(run);
        return 0;
    }

    private static void sparse(Path file, long bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(bytes);
        }
    }

    private Cell measure(Cluster cluster, Workload w, String volume, Path json) throws Exception {
        List<String> args = new ArrayList<>(List.of("--ioengine=nbd", "--uri=" + cluster.exportUri(volume)));
        args.addAll(w.fioArgs());
        long fallback0 = cluster.volumeStatus(volume).path("fallbackWrites").asLong();
        Duration[] cpu0 = cluster.cpu();
        long[] host0 = hostTicks();
        long t0 = System.nanoTime();
        FioRun r = FioRun.run(args, "write", ramp, runtime, json, cluster::allAlive);
        double wall = (System.nanoTime() - t0) / 1e9;
        long[] host1 = hostTicks();
        Duration[] cpu1 = cluster.cpu();
        double[] cpu = new double[3];
        for (int i = 0; i < 3; i++) {
            cpu[i] = 100.0 * (cpu1[i].minus(cpu0[i]).toNanos() / 1e9) / wall;
        }
        double busy = host1[1] - host0[1] == 0 ? Double.NaN : 100.0 * (host1[0] - host0[0]) / (host1[1] - host0[1]);
        JsonNode after = cluster.volumeStatus(volume);
        return new Cell(r, cpu[0], cpu[1], cpu[2], busy, after.path("fallbackWrites").asLong() - fallback0, after.path("health").asText("?"));
    }

    // ---------------------------------------------------------------------------------------------------------------- takeover

    private ObjectNode takeover(Cluster cluster, Path sanImage, long bytes, Path run) throws Exception {
        ObjectNode t = FioRun.JSON.createObjectNode();
        JsonNode rec = cluster.record(B, R1);
        String holder = rec.path("replicaSet").path(0).asText();
        out.printf("takeover: fio writes %s (4 KiB random, iodepth 32, verify=crc32c headers) for %d s, stops at its trigger; then %s is killed "
                + "(SIGKILL). %s holds the replica; session timeout %s; polling the volume records on %s every 50 ms%n",
                R1, takeoverWrite, A, holder, sessionTimeout, B);
        Path aux = Files.createDirectories(run.resolve("verify-state"));
        Path trigger = run.resolve("fio-trigger");
        Path writeJson = run.resolve("fio-takeover-write.json");
        List<String> cmd = new ArrayList<>(List.of("fio", "--output-format=json", "--output=" + writeJson, "--trigger-file=" + trigger,
                "--trigger=kill -9 $PPID", "--thread", "--aux-path=" + aux, "--verify=crc32c", "--iodepth=32", "--ioengine=nbd",
                "--uri=" + cluster.exportUri(R1), "--do_verify=0"));
        cmd.addAll(job(bytes));
        Process fio = new ProcessBuilder(cmd).directory(run.toFile()).redirectErrorStream(true)
                .redirectOutput(run.resolve("fio-takeover-write.console").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(takeoverWrite);
        try {
            while (System.nanoTime() < deadline) {
                if (!fio.isAlive()) {
                    throw new IOException("the takeover writer ended early (exit " + fio.exitValue() + "):\n"
                            + Files.readString(run.resolve("fio-takeover-write.console")));
                }
                Thread.sleep(50);
            }
            Files.writeString(trigger, "stop\n");
            if (!fio.waitFor(30, TimeUnit.SECONDS)) {
                throw new IOException("fio did not act on its trigger file within 30 s");
            }
        } finally {
            fio.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        boolean stateSaved = Files.isRegularFile(aux.resolve("local-takeover-0-verify.state"));
        t.put("writer_exit", fio.exitValue()).put("verify_state_saved", stateSaved);
        JsonNode r1 = cluster.volumeStatus(R1);
        JsonNode r2 = cluster.volumeStatus(R2);
        long dirty1 = r1.path("dirtyBytes").asLong();
        long dirty2 = r2.path("dirtyBytes").asLong();
        t.put("holder", holder).put("session_timeout", sessionTimeout).put("dirty_bytes_at_kill_r1", dirty1).put("dirty_bytes_at_kill_r2", dirty2)
                .put("health_at_kill_r1", r1.path("health").asText());
        JsonNode recBefore = cluster.record(B, R1);
        t.put("epoch_before", recBefore.path("epoch").asLong());

        // The kill, then the records every 50 ms from a survivor.
        String observer = B;
        long k0 = System.nanoTime();
        cluster.kill9(A);
        double killed = (System.nanoTime() - k0) / 1e6;
        Map<String, Double> newOwner = new LinkedHashMap<>();
        Map<String, Double> clean = new LinkedHashMap<>();
        Map<String, String> winner = new LinkedHashMap<>();
        Map<String, Double> sessionGone = new LinkedHashMap<>();
        Map<String, String> lastState = new LinkedHashMap<>();
        long end = k0 + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < end && !(clean.containsKey(R1) && (clean.containsKey(R2) || sessionGone.containsKey(R2)))) {
            JsonNode vols;
            try {
                vols = cluster.control(observer, "volumes").path("volumes");
            } catch (IOException e) {
                Thread.sleep(50);
                continue;
            }
            double now = (System.nanoTime() - k0) / 1e6;
            t.put("san_restarts", cluster.restartSanIfItDied());
            for (JsonNode v : vols) {
                String name = v.path("name").asText();
                if (!name.equals(R1) && !name.equals(R2)) {
                    continue;
                }
                String owner = v.path("owner").isNull() ? null : v.path("owner").asText();
                lastState.put(name, "owner=" + (owner == null ? "-" : owner) + " ownerLive=" + v.path("ownerLive").asBoolean() + " epoch="
                        + v.path("epoch").asLong() + " state=" + v.path("state").asText());
                if (!(A.equals(owner) && v.path("ownerLive").asBoolean()) && !sessionGone.containsKey(name)) {
                    sessionGone.put(name, now);
                }
                if (!A.equals(owner) && !newOwner.containsKey(name)) {
                    newOwner.put(name, now);
                    if (owner != null) {
                        winner.put(name, owner);
                    }
                }
                if (owner == null && v.path("state").asText().equals("CLEAN") && !clean.containsKey(name)) {
                    clean.put(name, now);
                }
            }
            Thread.sleep(50);
        }
        t.put("kill_ms", killed);
        for (String v : List.of(R1, R2)) {
            ObjectNode o = t.putObject(v);
            o.put("owner_session_gone_ms", sessionGone.getOrDefault(v, Double.NaN));
            o.put("record_at_end", lastState.getOrDefault(v, "?"));
            o.put("owner_changed_ms", newOwner.getOrDefault(v, Double.NaN));
            o.put("winner", winner.getOrDefault(v, "(not seen)"));
            o.put("clean_ms", clean.getOrDefault(v, Double.NaN));
            TookOver m = tookOver(cluster, v);
            if (m != null) {
                o.put("taken_by", m.host()).put("epoch", m.epoch()).put("blocks_destaged", m.blocks()).put("destage_s", m.seconds())
                        .put("released", m.released());
            }
        }
        JsonNode after = cluster.record(observer, R1);
        t.put("record_after_r1", after.toString());

        // Nothing lost: read the SAN image directly, every write fio saw completed.
        if (stateSaved && clean.containsKey(R1)) {
            Path aux2 = Files.createDirectories(run.resolve("verify-state-2"));
            try (var s = Files.list(aux)) {
                for (Path p : s.toList()) {
                    Files.copy(p, aux2.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Path vjson = run.resolve("fio-takeover-verify.json");
            List<String> v = new ArrayList<>(List.of("fio", "--output-format=json", "--output=" + vjson, "--thread", "--aux-path=" + aux2,
                    "--verify=crc32c", "--iodepth=32", "--ioengine=psync", "--filename=" + sanImage, "--verify_only", "--verify_state_load=1",
                    "--verify_state_save=0", "--verify_fatal=1", "--verify_dump=0"));
            v.addAll(job(bytes));
            Process p = new ProcessBuilder(v).directory(run.toFile()).redirectErrorStream(true)
                    .redirectOutput(run.resolve("fio-takeover-verify.console").toFile()).start();
            boolean done = p.waitFor(300, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            JsonNode job = Files.exists(vjson) ? readJson(vjson).path("jobs").path(0) : FioRun.JSON.createObjectNode();
            t.put("verify_exit", done ? p.exitValue() : -1).put("verify_error", job.path("error").asInt(-1))
                    .put("verified_bytes", job.path("read").path("io_bytes").asLong());
            JsonNode w = Files.exists(writeJson) ? readJson(writeJson) : null;
            t.put("verify_console", tail(Files.readString(run.resolve("fio-takeover-verify.console"))));
            if (w != null) {
                t.put("writer_json_note", "fio killed itself at the trigger; its JSON report may be empty");
            }
        } else {
            t.put("verify_error", -1).put("verify_skipped", stateSaved ? "the takeover did not finish" : "fio saved no verify state");
        }
        return t;
    }

    private static JsonNode readJson(Path p) {
        try {
            String text = Files.readString(p);
            int brace = text.indexOf('{');
            return brace < 0 ? FioRun.JSON.createObjectNode() : FioRun.JSON.readTree(text.substring(brace));
        } catch (IOException e) {
            return FioRun.JSON.createObjectNode();
        }
    }

    /** The writer's and the verifier's job: one pass of 4 KiB random writes over the whole volume (fio's random map). */
    private static List<String> job(long bytes) {
        return List.of("--name=takeover", "--rw=randwrite", "--bs=4k", "--offset=0", "--size=" + bytes);
    }

    private static final Pattern TOOK_OVER = Pattern.compile(
            "took over volume (\\S+) from hv-a at epoch (\\d+): (\\d+) blocks destaged in ([0-9.]+) s; released: (true|false)");

    /** What a holder logged about its takeover of a volume. */
    record TookOver(String host, long epoch, long blocks, double seconds, boolean released) {
    }

    /** The holder's log line "took over volume V from hv-a at epoch E: N blocks destaged in S s; released: R", or null. */
    private static TookOver tookOver(Cluster cluster, String volume) {
        for (String h : List.of(B, C)) {
            for (String line : cluster.log(h).lines().toList()) {
                Matcher m = TOOK_OVER.matcher(line);
                if (m.find() && m.group(1).equals(volume)) {
                    return new TookOver(h, Long.parseLong(m.group(2)), Long.parseLong(m.group(3)), Double.parseDouble(m.group(4)),
                            Boolean.parseBoolean(m.group(5)));
                }
            }
        }
        return null;
    }

    private void printTakeover(JsonNode t) {
        out.println();
        out.printf(Locale.ROOT, "Takeover (owner %s killed with SIGKILL; session timeout %s; records polled every 50 ms on %s):%n", A,
                t.path("session_timeout").asText(), B);
        out.printf(Locale.ROOT, "- dirty at the kill: r1 %s, r2 %s (acknowledged, not yet on the SAN: only on %s's flash and the holders' replicas)%n",
                ByteSize.format(t.path("dirty_bytes_at_kill_r1").asLong()), ByteSize.format(t.path("dirty_bytes_at_kill_r2").asLong()), A);
        JsonNode o = t.path(R1);
        out.printf(Locale.ROOT, "- r1: owner killed -> its session seen gone (ownerLive=false): %.0f ms; -> holder %s won epoch %s "
                        + "(old owner fenced): %.0f ms; -> record clean, no owner (every acknowledged write on the SAN): %.0f ms%n",
                o.path("owner_session_gone_ms").asDouble(), o.path("taken_by").asText(o.path("winner").asText()), o.path("epoch").asText("?"),
                o.path("owner_changed_ms").asDouble(), o.path("clean_ms").asDouble());
        out.printf(Locale.ROOT, "- r1 takeover's own destage (%s's log): %s blocks in %s s; released: %s%n", o.path("taken_by").asText("?"),
                o.path("blocks_destaged").asText("?"), o.path("destage_s").asText("?"), o.path("released").asText("?"));
        JsonNode o2 = t.path(R2);
        out.printf(Locale.ROOT, "- r2 (%s dirty at the kill%s): session seen gone at %.0f ms; %s; record at the end: %s%n",
                ByteSize.format(t.path("dirty_bytes_at_kill_r2").asLong()), t.path("dirty_bytes_at_kill_r2").asLong() == 0
                        ? ", every replica already released, so no holder has anything to take over" : "",
                o2.path("owner_session_gone_ms").asDouble(), o2.has("blocks_destaged") ? String.format(Locale.ROOT,
                        "taken over by %s: clean at %.0f ms, %d blocks destaged", o2.path("taken_by").asText(), o2.path("clean_ms").asDouble(),
                        o2.path("blocks_destaged").asLong()) : "not taken over", o2.path("record_at_end").asText());
        out.printf(Locale.ROOT, "- owner killed -> another host can serve r1 again: %.0f ms — the same moment as 'clean' in this design "
                + "(a VM restarted elsewhere opens the volume over the SAN once the record is clean; reads are not served from the holder "
                + "during the takeover destage)%n", t.path(R1).path("clean_ms").asDouble());
        int err = t.path("verify_error").asInt(-1);
        out.printf(Locale.ROOT, "- nothing lost: fio --verify_only on r1's SAN image read %s: %s%n", ByteSize.format(t.path("verified_bytes").asLong()),
                err == 0 && t.path("verify_exit").asInt() == 0 ? "0 verify errors" : "FAILED (error " + err + ", exit " + t.path("verify_exit").asInt()
                        + ")" + (t.has("verify_skipped") ? " " + t.path("verify_skipped").asText() : ""));
        if (t.path("san_restarts").asInt() > 0) {
            out.printf(Locale.ROOT, "- the SAN (nbdkit 1.32) aborted %d time(s) when the owner's connection was cut and was started again; "
                    + "the times above include that%n", t.path("san_restarts").asInt());
        }
    }

    // ---------------------------------------------------------------------------------------------------------------- report

    private void header(Path flashFiles, long bytes, long flashBytes, List<String> javaOpts) throws IOException, InterruptedException {
        out.println("Replication benchmark: 3 flashvisor node processes on loopback (hv-a owns the volumes; hv-b, hv-c hold replicas; "
                + "embedded ZooKeeper on hv-b) over a slow SAN (nbdkit delay filter), fio --ioengine=nbd over Unix sockets");
        out.printf("volumes %s each (one SAN image each) with rdelay=wdelay=%s  flash %s per host (files in %s)  session timeout %s  "
                        + "runtime %d s + ramp %d s  rounds %d  cpus %d%n",
                ByteSize.format(bytes), delay, ByteSize.format(flashBytes), flashFiles, sessionTimeout, runtime, ramp, rounds,
                Runtime.getRuntime().availableProcessors());
        out.printf("%s | %s | java %s %s%n", NbdServerBench.firstLine("fio", "--version"), NbdServerBench.firstLine("nbdkit", "--version"),
                Runtime.version(), javaOpts.isEmpty() ? "" : String.join(" ", javaOpts));
        out.println();
    }

    private void report(List<Workload> workloads, Map<String, Map<String, List<Cell>>> cells, ObjectNode results) {
        out.println("| workload | volume | IOPS | p50 µs | p99 µs | mean µs | IOPS ratio | p50 ratio | p99 ratio | CPU hv-a % | CPU hv-b % | CPU hv-c % | host busy % |");
        out.println("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        ArrayNode summary = results.putArray("summary");
        Map<String, Map<String, double[]>> means = new LinkedHashMap<>();
        for (Workload w : workloads) {
            Map<String, List<Cell>> byVolume = cells.getOrDefault(w.id(), Map.of());
            List<Cell> ref = byVolume.get(R0);
            double refIops = ref == null ? Double.NaN : mean(ref, c -> c.fio().iops());
            double refP50 = ref == null ? Double.NaN : mean(ref, c -> c.fio().p50Micros());
            double refP99 = ref == null ? Double.NaN : mean(ref, c -> c.fio().p99Micros());
            for (String v : VOLUMES) {
                List<Cell> cs = byVolume.get(v);
                if (cs == null) {
                    continue;
                }
                double iops = mean(cs, c -> c.fio().iops());
                double p50 = mean(cs, c -> c.fio().p50Micros());
                double p99 = mean(cs, c -> c.fio().p99Micros());
                double lat = mean(cs, c -> c.fio().meanMicros());
                double a = mean(cs, Cell::cpuA);
                double b = mean(cs, Cell::cpuB);
                double c = mean(cs, Cell::cpuC);
                double busy = mean(cs, Cell::hostBusyPercent);
                means.computeIfAbsent(w.id(), x -> new LinkedHashMap<>()).put(v, new double[] {iops, p50});
                boolean isRef = v.equals(R0);
                out.printf(Locale.ROOT, "| %s | %s | %,.0f | %.1f | %.1f | %.1f | %s | %s | %s | %.0f | %.0f | %.0f | %.0f |%n", w.id(),
                        isRef ? "**" + label(v) + "**" : label(v), iops, p50, p99, lat, ratio(isRef, iops / refIops, "%.2f"),
                        ratio(isRef, p50 / refP50, "%.2f"), ratio(isRef, p99 / refP99, "%.2f"), a, b, c, busy);
                summary.addObject().put("workload", w.id()).put("volume", v).put("iops", iops).put("p50_us", p50).put("p99_us", p99)
                        .put("mean_us", lat).put("iops_ratio", iops / refIops).put("p50_ratio", p50 / refP50).put("p99_ratio", p99 / refP99)
                        .put("cpu_hv_a_pct", a).put("cpu_hv_b_pct", b).put("cpu_hv_c_pct", c).put("host_busy_pct", busy);
            }
        }
        out.println();
        out.println("Mean over " + rounds + " round(s). Ratios are against write-back replicas=0 (r0, bold) of the same workload. Latencies: fio "
                + "completion latency (clat). CPU: each node process, % of one core, over the run.");
        out.println();
        ObjectNode targets = results.putObject("targets");
        for (String w : List.of("randwrite-qd1", "randwrite-qd32")) {
            double x = get(means, w, R1)[1] / get(means, w, R0)[1];
            target(targets, w + " replicas=1 p50 <= 2x replicas=0", x, x <= 2, "%.2fx");
        }
        double x = get(means, "randwrite-qd32", R1)[0] / get(means, "randwrite-qd32", R0)[0];
        target(targets, "randwrite-qd32 replicas=1 IOPS >= 0.6x replicas=0", x, x >= 0.6, "%.2fx");
        double y = get(means, "randwrite-qd32", R2)[0] / get(means, "randwrite-qd32", R0)[0];
        out.printf(Locale.ROOT, "- (for information) randwrite-qd32 replicas=2 IOPS: %.2fx replicas=0; randwrite-qd1 replicas=2 p50: %.2fx%n", y,
                get(means, "randwrite-qd1", R2)[1] / get(means, "randwrite-qd1", R0)[1]);
    }

    private static String label(String v) {
        return switch (v) {
            case R0 -> "r0 write-back replicas=0";
            case R1 -> "r1 write-back replicas=1";
            case R2 -> "r2 write-back replicas=2";
            default -> "wt write-through (SAN)";
        };
    }

    private static String ratio(boolean isRef, double x, String fmt) {
        return isRef ? "1" : String.format(Locale.ROOT, fmt, x);
    }

    private static double[] get(Map<String, Map<String, double[]>> means, String workload, String volume) {
        return means.getOrDefault(workload, Map.of()).getOrDefault(volume, new double[] {Double.NaN, Double.NaN});
    }

    private void target(ObjectNode targets, String what, double value, boolean met, String fmt) {
        out.printf(Locale.ROOT, "- target %s: " + fmt + " -> %s%n", what, value, met ? "MET" : "NOT MET");
        targets.putObject(what).put("value", value).put("met", met);
    }

    private static double mean(List<Cell> cells, ToDoubleFunction<Cell> f) {
        return cells.stream().mapToDouble(f).filter(d -> !Double.isNaN(d)).average().orElse(Double.NaN);
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

    private static String tail(String log) {
        List<String> lines = log.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    }

    // ---------------------------------------------------------------------------------------------------------------- cluster

    /** The SAN and the three nodes; closed in reverse order of start (the SAN last). */
    private final class Cluster implements AutoCloseable {
        private final Path run;
        private final Path images;
        private final Path flashFiles;
        private final Path java;
        private final Path jar;
        private final List<String> javaOpts;
        private final long flashBytes;
        private final Map<String, ServerProcess> nodes = new LinkedHashMap<>();
        private final Map<String, Path> controls = new LinkedHashMap<>();
        private ServerProcess san;
        private List<String> sanArgs;
        private int sanRestarts;
        private String nbdUriA;

        /**
         * nbdkit 1.32 (Debian 12) can abort ({@code raw_send_socket: Assertion `sock >= 0' failed}) when
         * a client dies while its delayed writes still sleep — killing the owner does that. A real SAN
         * would fail over; the benchmark starts nbdkit again (counted in the results) and the hosts retry.
         */
        int restartSanIfItDied() throws IOException, InterruptedException {
            if (!san.isAlive()) {
                sanRestarts++;
                out.printf("  (the SAN, nbdkit, died — exit %d, see san.log — and was started again)%n", san.exitCode());
                san = ServerProcess.nbdkit("san-restarted-" + sanRestarts, sanArgs, run.resolve("san.sock"), run, Map.of());
            }
            return sanRestarts;
        }

        Cluster(Path run, Path images, Path flashFiles, Path java, Path jar, List<String> javaOpts, long flashBytes) {
            this.run = run;
            this.images = images;
            this.flashFiles = flashFiles;
            this.java = java;
            this.jar = jar;
            this.javaOpts = javaOpts;
            this.flashBytes = flashBytes;
        }

        void start(Path sanDir, long bytes) throws Exception {
            Path sanSock = run.resolve("san.sock");
            sanArgs = List.of("--filter=delay", "file", "dir=" + sanDir, "rdelay=" + delay, "wdelay=" + delay);
            san = ServerProcess.nbdkit("san", sanArgs, sanSock, run, Map.of());
            Path secret = run.resolve("cluster.secret");
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            Files.writeString(secret, Base64.getEncoder().encodeToString(key) + "\n");
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
            int zkPort;
            try (ServerSocket s = new ServerSocket(0)) {
                zkPort = s.getLocalPort();
            }
            out.printf("SAN: %s (exports %s)%n", san.uri, String.join(", ", VOLUMES));
            for (String h : List.of(B, C)) {
                sparse(images.resolve(h + "-scratch.img"), 16L << 20);
            }
            String zkB = "embedded-zookeeper: {dir: " + run.resolve("zk") + ", port: " + zkPort + "}";
            String zk = "zookeeper: 127.0.0.1:" + zkPort;
            startNode(B, "rack-2", zkB, "  - {name: scratch-b, backing: " + images.resolve(B + "-scratch.img") + "}\n");
            startNode(C, "rack-3", zk, "  - {name: scratch-c, backing: " + images.resolve(C + "-scratch.img") + "}\n");
            awaitHosts(2);
            StringBuilder vols = new StringBuilder();
            for (String v : VOLUMES) {
                String backing = "nbd+unix:///" + v + "?socket=" + sanSock;
                String policy = v.equals(WT) ? "write-through" : "write-back";
                String replicas = switch (v) {
                    case R1 -> ", replicas: 1";
                    case R2 -> ", replicas: 2";
                    case R0 -> ", replicas: 0";
                    default -> "";
                };
                vols.append("  - {name: ").append(v).append(", backing: \"").append(backing).append("\", policy: ").append(policy).append(replicas)
                        .append("}\n");
            }
            nbdUriA = startNode(A, "rack-1", zk, vols.toString()).uri;
            awaitHosts(3);
            // The records: r1 and r2 must be ACTIVE, owned by hv-a, with 1 and 2 peers.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            String problem;
            do {
                problem = null;
                for (String v : List.of(R1, R2)) {
                    JsonNode r = record(B, v);
                    int want = v.equals(R1) ? 1 : 2;
                    if (r == null || !A.equals(r.path("owner").asText()) || !r.path("state").asText().equals("ACTIVE")
                            || r.path("replicaSet").size() != want) {
                        problem = v + ": " + r;
                    }
                }
                if (problem != null) {
                    Thread.sleep(250);
                }
            } while (problem != null && System.nanoTime() < deadline);
            if (problem != null) {
                throw new IOException("volume record not ACTIVE with its replicas: " + problem);
            }
            JsonNode hosts = control(B, "hosts").path("hosts");
            Map<String, String> domains = new LinkedHashMap<>();
            for (JsonNode h : hosts) {
                domains.put(h.path("hostId").asText(), h.path("faultDomain").asText());
            }
            out.printf("hosts: %s%n", domains);
            for (JsonNode r : control(B, "volumes").path("volumes")) {
                List<String> set = new ArrayList<>();
                r.path("replicaSet").forEach(x -> set.add(x.asText() + "(" + domains.getOrDefault(x.asText(), "?") + ")"));
                out.printf("record %-9s policy=%-13s replicas=%d owner=%s epoch=%d state=%s replicaSet=%s%n", r.path("name").asText(),
                        r.path("policy").asText(), r.path("replicas").asInt(), r.path("owner").isNull() ? "-" : r.path("owner").asText(),
                        r.path("epoch").asLong(), r.path("state").asText(), set);
            }
        }

        private ServerProcess startNode(String host, String domain, String zookeeper, String volumes) throws Exception {
            Path ctl = run.resolve(host + ".ctl");
            Path config = run.resolve(host + ".yaml");
            Files.writeString(config, """
                    listeners: [{unix: %1$s}]
                    control: %2$s
                    flash: {device: %3$s, size: %4$d}
                    cluster:
                      name: bench
                      host-id: %5$s
                      %6$s
                      session-timeout: %7$s
                      peer-listen: 127.0.0.1:0
                      secret-file: %8$s
                      fault-domain: %9$s
                    volumes:
                    %10$s""".formatted(run.resolve(host + "-nbd.sock"), ctl, flashFiles.resolve(host + "-flash.img"), flashBytes, host, zookeeper,
                    sessionTimeout, run.resolve("cluster.secret"), domain, volumes));
            out.printf("starting %s (%s) ... ", host, domain);
            out.flush();
            long t0 = System.nanoTime();
            ServerProcess p = ServerProcess.node(host, java, jar, javaOpts, config, run);
            nodes.put(host, p);
            controls.put(host, ctl);
            out.printf(Locale.ROOT, "%s in %.1f s (pid %d)%n", p.uri, (System.nanoTime() - t0) / 1e9, p.pid());
            return p;
        }

        private void awaitHosts(int n) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                int live = 0;
                try {
                    live = control(B, "hosts").path("hosts").size();
                } catch (IOException e) {
                    // not yet
                }
                if (live >= n) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("only " + live + " of " + n + " hosts registered");
                }
                Thread.sleep(100);
            }
        }

        String exportUri(String volume) {
            return nbdUriA.replace(":///?", ":///" + volume + "?");
        }

        boolean allAlive() {
            return san.isAlive() && nodes.values().stream().allMatch(ServerProcess::isAlive);
        }

        Duration[] cpu() {
            Duration[] d = new Duration[3];
            int i = 0;
            for (String h : List.of(A, B, C)) {
                ServerProcess p = nodes.get(h);
                d[i++] = p == null ? Duration.ZERO : p.cpu();
            }
            return d;
        }

        void kill9(String host) throws InterruptedException {
            nodes.get(host).kill9();
        }

        String log(String host) {
            ServerProcess p = nodes.get(host);
            return p == null ? "" : p.log();
        }

        /** Drains every write-back volume of hv-a with dirty data (full speed), at most --settle seconds each. */
        void drainAll() throws IOException {
            JsonNode st = control(A, "status").path("volumes");
            long dirty = 0;
            for (JsonNode v : st) {
                dirty += v.path("dirtyBytes").asLong();
            }
            if (dirty == 0) {
                return;
            }
            long t0 = System.nanoTime();
            boolean clean = true;
            for (JsonNode v : st) {
                if (v.path("dirtyBytes").asLong() > 0) {
                    clean &= control(A, "drain " + v.path("name").asText() + " " + settle).path("clean").asBoolean();
                }
            }
            out.printf(Locale.ROOT, "       (drained %s dirty in %.1f s%s)%n", ByteSize.format(dirty), (System.nanoTime() - t0) / 1e9,
                    clean ? "" : ", --settle reached, going on");
        }

        JsonNode volumeStatus(String volume) throws IOException {
            for (JsonNode v : control(A, "status").path("volumes")) {
                if (v.path("name").asText().equals(volume)) {
                    return v;
                }
            }
            throw new IOException("no volume " + volume + " in hv-a's status");
        }

        JsonNode record(String host, String volume) throws IOException {
            for (JsonNode v : control(host, "volumes").path("volumes")) {
                if (v.path("name").asText().equals(volume)) {
                    return v;
                }
            }
            return null;
        }

        /** One line to the host's control socket, its JSON reply; an IOException on an error reply or no answer. */
        JsonNode control(String host, String line) throws IOException {
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(controls.get(host)));
                OutputStream o = Channels.newOutputStream(ch);
                o.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                o.flush();
                ch.shutdownOutput();
                InputStream in = Channels.newInputStream(ch);
                JsonNode r = FioRun.JSON.readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                if (r.has("error")) {
                    throw new IOException(host + " '" + line + "': " + r.get("error").asText());
                }
                return r;
            }
        }

        @Override
        public synchronized void close() {
            List<ServerProcess> all = new ArrayList<>(nodes.values());
            Collections.reverse(all);
            for (ServerProcess p : all) {
                try {
                    p.close();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            nodes.clear();
            if (san != null) {
                try {
                    san.close();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                san = null;
            }
        }
    }
}
