package io.flashvisor.cli.demo;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.flashvisor.cluster.EmbeddedZooKeeper;
import io.flashvisor.common.Failpoints;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster demo ({@code flashvisor demo}): three Flashvisor hosts on this machine in front of a
 * slow SAN, measured side by side against the SAN alone, then a power cut of the volume's owner
 * and proof that no acknowledged write was lost.
 *
 * <ol>
 * <li>Setup: a sparse SAN image served by {@code nbdkit --filter=delay file} (2 ms per read and
 *     write) on a Unix socket; an embedded ZooKeeper in this JVM; three {@code flashvisor node}
 *     processes hv1..hv3 (fault domains rack-1..3, a 0600 cluster secret, peer listeners on
 *     loopback, auto-takeover on). hv2 and hv3 start first, so hv1 finds its peers live when it
 *     claims volume {@code vm1} (write-back, {@code replicas: 1}) and places its replica.</li>
 * <li>Measurement, in one run: each workload with {@code fio --ioengine=nbd}, first straight
 *     against the SAN, then through hv1 (before Flashvisor has touched the SAN, so nothing it
 *     caches goes stale). Every write-back volume is drained between runs.</li>
 * <li>Power cut (fio's crash-test workflow, as in the integration tests' {@code CrashChecker}): fio
 *     writes {@code vm1} with {@code verify=crc32c} headers; at its trigger file it saves its
 *     verify state and kills itself (fio 3.33's nbd engine must never be connected to a server that
 *     dies); hv1 is killed with SIGKILL while megabytes are dirty (only on hv1's flash and the
 *     holder's replica). The demo watches the volume record on a survivor until the holder has
 *     taken the volume over, destaged it and released it clean.</li>
 * <li>Check: {@code fio --verify_only --verify_state_load=1} reads the SAN image directly: every
 *     write fio saw acknowledged must be there.</li>
 * </ol>
 *
 * <p>Everything is stopped at the end, on failure, and on Ctrl-C (children run in their own
 * session, so the terminal's SIGINT reaches only this JVM, which stops fio first, then the nodes,
 * the SAN and ZooKeeper). Logs, configs and fio reports stay in the run directory; the images are
 * deleted unless {@code --keep}.
 */
public final class ClusterDemo {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterDemo.class);
    static final String VOLUME = "vm1";
    static final String OWNER = "hv1";
    static final List<String> PEERS = List.of("hv2", "hv3");
    static final double MiB = 1 << 20;
    static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
    /**
     * A planted bug for the demo's negative control ({@code -Dflashvisor.failpoints=demo-lose-writes}
     * on the demo's JVM): after the takeover, the first 16 MiB of the SAN image are zeroed, as if the
     * holder had not destaged them. The check must then fail loudly (exit code 1, "DATA LOST").
     */
    static final String LOSE_WRITES = "demo-lose-writes";

    /**
     * @param dataDir where the run directory is created (configs, logs, images)
     * @param flashDir where the hosts' flash files go; null: {@code /dev/shm} if it has room, else the run directory
     * @param flashvisor the command that runs flashvisor ({@code java [opts] -jar flashvisor.jar})
     * @param seconds measured seconds per fio run
     * @param crashSeconds seconds fio writes before the owner is killed
     */
    public record Settings(Path dataDir, Path flashDir, List<String> flashvisor, int seconds, int crashSeconds, long sanBytes,
                           long flashBytes, String delay, String sessionTimeout, int mixDepth, boolean keepImages) {
    }

    /** One fio workload: what the table calls it, its options, and the report section that holds its numbers. */
    record Workload(String label, List<String> fioArgs, String direction) {
    }

    /**
     * A workload's two measurements, the share of reads hv1 served from flash (NaN: no reads), and
     * for reference the flash stand-in's own 4 KiB write + fdatasync (null if not measured).
     */
    record Row(Workload workload, FioResult san, FioResult flashvisor, double hitRatio, FioResult flashSync) {
    }

    /** A failure the demo reports as such (exit code 1), with what the user should look at. */
    static final class DemoFailure extends Exception {
        DemoFailure(String message) {
            super(message);
        }
    }

    private final Settings s;
    private final PrintStream out;
    private final List<Workload> workloads;
    private final Set<Process> fios = ConcurrentHashMap.newKeySet();
    private final Map<String, Child> nodes = new LinkedHashMap<>();
    private final Map<String, Path> controls = new LinkedHashMap<>();
    private Path run;
    private Path sockets;
    private Path sanImage;
    private Path flashDir;
    private Child san;
    private Path sanSocket;
    private EmbeddedZooKeeper zk;
    private String sanUri;
    private String volumeUri;
    private String holder;
    private volatile boolean stopping;
    private boolean closed;
    private final long started = System.nanoTime();

    public ClusterDemo(Settings settings, PrintStream out) {
        this.s = settings;
        this.out = out;
        this.workloads = workloads(settings.mixDepth());
    }

    static List<Workload> workloads(int mixDepth) {
        return List.of(
                new Workload("4 KiB random write, iodepth 1", List.of("--rw=randwrite", "--bs=4k", "--iodepth=1"), "write"),
                new Workload("4 KiB random 70% read / 30% write (zipf 1.2), iodepth " + mixDepth,
                        List.of("--rw=randrw", "--rwmixread=70", "--random_distribution=zipf:1.2", "--bs=4k", "--iodepth=" + mixDepth,
                                "--unified_rw_reporting=mixed"), "mixed"));
    }

    /** Runs the demo; returns the exit code (0: measured and nothing lost; 1: a failure, printed; 2: prerequisites missing). */
    public int run() throws Exception {
        List<String> missing = Prerequisites.missing();
        if (!missing.isEmpty()) {
            System.err.println("flashvisor demo: " + Prerequisites.message(missing));
            return 2;
        }
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Files.createDirectories(s.dataDir());
        run = newDirectory(s.dataDir().toAbsolutePath(), "cluster-" + stamp);
        // Unix socket paths are limited to 107 bytes: the sockets live in a short directory under /tmp.
        sockets = Files.createTempDirectory(Path.of("/tmp"), "fv-demo-");
        Path flashBase = s.flashDir() != null ? s.flashDir().toAbsolutePath() : defaultFlashBase(s.flashBytes());
        flashDir = flashBase == null ? run : newDirectory(Files.createDirectories(flashBase), "fv-demo-" + stamp);
        logToFile(run.resolve("demo.log"));
        installSignalHandlers();
        int rc;
        try {
            header();
            setUp();
            List<Row> rows = measure();
            table(rows);
            long acknowledged = powerCut();
            rc = verify(acknowledged);
        } catch (DemoFailure e) {
            if (stopping) {
                return 130;
            }
            failed(e.getMessage());
            rc = 1;
        } catch (Exception e) {
            if (stopping) {
                return 130;
            }
            failed(e.toString());
            LOG.error("demo failed", e);
            rc = 1;
        } finally {
            close();
        }
        return rc;
    }

    // ------------------------------------------------------------------------------------------------------ setup

    /**
     * Where the flash files go by default: {@code /dev/shm} (RAM) when it has room for all three,
     * standing in for the NVMe flash of a hypervisor host, whose durable writes take microseconds —
     * a file on a virtual machine's disk often needs a millisecond per fdatasync, as slow as the SAN
     * it should accelerate. The output says which was used and measures it. Null: the run directory.
     */
    static Path defaultFlashBase(long flashBytes) {
        Path shm = Path.of("/dev/shm");
        try {
            if (Files.isDirectory(shm) && Files.isWritable(shm)
                    && Files.getFileStore(shm).getUsableSpace() > 3 * flashBytes + (256L << 20)) {
                return shm;
            }
        } catch (IOException e) {
            LOG.debug("cannot use /dev/shm: {}", e.toString());
        }
        return null;
    }

    private void header() {
        out.printf(Locale.ROOT, "Flashvisor cluster demo: 3 hosts on this machine in front of a slow SAN; VM disk '%s' in write-back with 1 replica.%n",
                VOLUME);
        out.printf(Locale.ROOT, "(%d CPUs%s, %s, %s, Java %s; files in %s)%n", Runtime.getRuntime().availableProcessors(), loadAverage(),
                Prerequisites.version("fio", "--version"), Prerequisites.version("nbdkit", "--version"), Runtime.version().feature(), run);
        out.println();
    }

    /** A new directory {@code base/name}, or {@code base/name-2}, {@code -3}, ... if another demo started in the same second. */
    static Path newDirectory(Path base, String name) throws IOException {
        Files.createDirectories(base);
        for (int i = 1; ; i++) {
            Path p = base.resolve(i == 1 ? name : name + "-" + i);
            try {
                return Files.createDirectory(p);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // taken: next
            }
        }
    }

    /** ", load average 1.23" from /proc/loadavg (other work on the machine skews the numbers), or "". */
    static String loadAverage() {
        try {
            return ", load average " + Files.readString(Path.of("/proc/loadavg")).split("\\s+")[0];
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private void setUp() throws Exception {
        out.println("[1/5] Starting the SAN, ZooKeeper and three Flashvisor hosts");
        sanImage = run.resolve("san.img");
        sparse(sanImage, s.sanBytes());
        sanSocket = sockets.resolve("san.sock");
        startSan();
        sanUri = "nbd+unix:///?socket=" + sanSocket;
        out.printf(Locale.ROOT, "  SAN        nbdkit --filter=delay file san.img rdelay=%s wdelay=%s  (%s sparse image, %s)%n", s.delay(),
                s.delay(), mib(s.sanBytes()), sanUri);

        zk = EmbeddedZooKeeper.start(run.resolve("zookeeper"));
        out.printf(Locale.ROOT, "  ZooKeeper  embedded in this process at %s; session timeout %s%n", zk.connectString(), s.sessionTimeout());

        out.printf(Locale.ROOT, "  flash      each host's flash device is a %s file in %s%n", mib(s.flashBytes()),
                flashDir.startsWith(Path.of("/dev/shm")) ? flashDir + " (RAM standing in for NVMe flash; --flash-dir DIR puts it on a real disk)"
                        : flashDir.equals(run) ? "the run directory (on this machine's disk)" : flashDir);

        Path secret = run.resolve("cluster.secret");
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Files.writeString(secret, Base64.getEncoder().encodeToString(key) + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));

        // The peers first: hv1 places vm1's replica among the hosts live when it claims the volume.
        Map<String, Long> t0 = new LinkedHashMap<>();
        for (int i = 0; i < PEERS.size(); i++) {
            String h = PEERS.get(i);
            Path scratch = run.resolve(h + "-scratch.img");
            sparse(scratch, 16L << 20);
            t0.put(h, System.nanoTime());
            startNode(h, "rack-" + (i + 2), "  - {name: scratch-" + h + ", backing: " + scratch
                    + ", description: \"an idle disk: this host only holds replicas\"}\n");
        }
        for (String h : PEERS) {
            nodes.get(h).awaitReady(READY_TIMEOUT);
            printHost(h, "rack-" + (PEERS.indexOf(h) + 2), t0.get(h), "holds replicas for its peers");
        }
        awaitHosts(2);
        t0.put(OWNER, System.nanoTime());
        startNode(OWNER, "rack-1", "  - {name: " + VOLUME + ", backing: \"" + sanUri + "\", policy: write-back, replicas: 1, "
                + "description: \"the demo VM's disk\"}\n");
        String uri = nodes.get(OWNER).awaitReady(READY_TIMEOUT);
        volumeUri = uri.replace(":///?", ":///" + VOLUME + "?");
        printHost(OWNER, "rack-1", t0.get(OWNER), "serves " + VOLUME);
        awaitHosts(3);

        JsonNode rec = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            rec = record(PEERS.get(0));
            if (rec != null && OWNER.equals(rec.path("owner").asText()) && rec.path("state").asText().equals("ACTIVE")
                    && rec.path("replicaSet").size() == 1) {
                break;
            }
            Thread.sleep(200);
        }
        if (rec == null || rec.path("replicaSet").size() != 1 || !OWNER.equals(rec.path("owner").asText())) {
            throw new DemoFailure("volume " + VOLUME + " did not become ACTIVE on " + OWNER + " with one replica; its record: " + rec);
        }
        holder = rec.path("replicaSet").path(0).asText();
        out.printf(Locale.ROOT, "  volume     %s: %s on the SAN, policy %s, owner %s (epoch %d), replica on %s; NBD export %s%n", VOLUME,
                mib(s.sanBytes()), rec.path("policy").asText(), OWNER, rec.path("epoch").asLong(), holder, volumeUri);
        out.println();
    }

    private void printHost(String host, String domain, long t0, String what) {
        Child c = nodes.get(host);
        out.printf(Locale.ROOT, "  %-10s %s, flash %s, %s; ready in %.1f s (pid %d, log %s)%n", host, domain, mib(s.flashBytes()), what,
                (System.nanoTime() - t0) / 1e9, c.pid(), run.relativize(c.log));
    }

    private void startNode(String host, String domain, String volumes) throws IOException {
        Path ctl = sockets.resolve(host + ".ctl");
        Path config = run.resolve(host + ".yaml");
        Files.writeString(config, nodeConfig(host, domain, zk.connectString(), sockets.resolve(host + "-nbd.sock"), ctl,
                flashDir.resolve(host + "-flash.img"), s.flashBytes(), s.sessionTimeout(), run.resolve("cluster.secret"), volumes));
        List<String> cmd = new ArrayList<>(s.flashvisor());
        cmd.addAll(List.of("node", "--config", config.toString()));
        command(cmd);
        controls.put(host, ctl);
        nodes.put(host, Child.startNode(host, cmd, run.resolve(host + ".log"), run));
    }

    /** A host's configuration (README, "Configuration reference"). */
    static String nodeConfig(String host, String domain, String zookeeper, Path nbdSocket, Path control, Path flash, long flashBytes,
                             String sessionTimeout, Path secret, String volumes) {
        return """
                # flashvisor demo: host %1$s
                listeners: [{unix: %2$s}]
                control: %3$s
                flash: {device: %4$s, size: %5$d}
                cluster:
                  name: demo
                  host-id: %1$s
                  zookeeper: %6$s
                  session-timeout: %7$s
                  peer-listen: 127.0.0.1:0
                  secret-file: %8$s
                  fault-domain: %9$s
                  auto-takeover: true
                volumes:
                %10$s""".formatted(host, nbdSocket, control, flash, flashBytes, zookeeper, sessionTimeout, secret, domain, volumes);
    }

    private void awaitHosts(int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        int live = 0;
        while (System.nanoTime() < deadline) {
            try {
                live = control(PEERS.get(0), "hosts").path("hosts").size();
            } catch (IOException e) {
                // not yet
            }
            if (live >= n) {
                return;
            }
            Thread.sleep(100);
        }
        throw new DemoFailure("only " + live + " of " + n + " hosts registered in ZooKeeper within 30 s");
    }

    // ------------------------------------------------------------------------------------------------------ measurement

    private List<Row> measure() throws Exception {
        out.printf(Locale.ROOT, "[2/5] Without Flashvisor: fio --ioengine=nbd straight to the SAN (nbdkit), %d s per workload%n", s.seconds());
        List<FioResult> sanResults = new ArrayList<>();
        int n = 0;
        for (Workload w : workloads) {
            out.printf(Locale.ROOT, "  %-62s ", w.label() + " ...");
            out.flush();
            FioResult r = fio(List.of("--ioengine=nbd", "--uri=" + sanUri), w, run.resolve("fio-san-" + (++n) + ".json"));
            sanResults.add(r);
            out.println(summary(r));
        }
        // For reference: what one durable write costs on the device that stands in for flash here. Every
        // write-back acknowledgement waits for one (group-committed) on hv1 and one on the replica holder.
        int probeSeconds = Math.min(s.seconds(), 5);
        Path probe = flashDir.resolve("sync-probe.img");
        Workload sync = new Workload("flash stand-in alone: 4 KiB write + fdatasync, iodepth 1",
                List.of("--rw=randwrite", "--bs=4k", "--iodepth=1", "--sync=dsync", "--size=64M"), "write");
        out.printf(Locale.ROOT, "  %-62s ", "(reference) 4 KiB durable write on the flash stand-in ...");
        out.flush();
        FioResult flashSync;
        try {
            flashSync = fio(List.of("--ioengine=psync", "--filename=" + probe), sync, run.resolve("fio-flash-sync.json"), probeSeconds);
        } finally {
            Files.deleteIfExists(probe);
        }
        out.println(summary(flashSync));
        out.println();
        out.printf(Locale.ROOT, "[3/5] With Flashvisor: the same fio runs against %s's export %s (each write is on hv1's flash and on %s's "
                + "before it is acknowledged)%n", OWNER, VOLUME, holder);
        List<Row> rows = new ArrayList<>();
        n = 0;
        for (Workload w : workloads) {
            drain();
            JsonNode before = volumeStatus();
            out.printf(Locale.ROOT, "  %-62s ", w.label() + " ...");
            out.flush();
            FioResult r = fio(List.of("--ioengine=nbd", "--uri=" + volumeUri), w, run.resolve("fio-flashvisor-" + (++n) + ".json"));
            JsonNode after = volumeStatus();
            long hits = after.path("hits").asLong() - before.path("hits").asLong();
            long misses = after.path("misses").asLong() - before.path("misses").asLong();
            double hitRatio = hits + misses == 0 ? Double.NaN : (double) hits / (hits + misses);
            out.printf(Locale.ROOT, "%s   (then %s dirty)%n", summary(r), mib(after.path("dirtyBytes").asLong()));
            rows.add(new Row(w, sanResults.get(rows.size()), r, hitRatio, rows.isEmpty() ? flashSync : null));
        }
        drain();
        out.println();
        return rows;
    }

    private static String summary(FioResult r) {
        return String.format(Locale.ROOT, "%,8.0f IOPS  p50 %s  p99 %s", r.iops(), latency(r.p50Micros()), latency(r.p99Micros()));
    }

    /** Destages vm1 at full speed (the owner's {@code drain} control command) and says how long it took. */
    private void drain() throws Exception {
        long dirty = volumeStatus().path("dirtyBytes").asLong();
        if (dirty == 0) {
            return;
        }
        long t0 = System.nanoTime();
        out.printf(Locale.ROOT, "  (destaging %s of dirty data to the SAN first ... ", mib(dirty));
        out.flush();
        boolean clean = control(OWNER, "drain " + VOLUME + " 300").path("clean").asBoolean();
        out.printf(Locale.ROOT, "%s in %.1f s)%n", clean ? "clean" : "NOT clean", (System.nanoTime() - t0) / 1e9);
        if (!clean) {
            throw new DemoFailure(VOLUME + " did not become clean within 300 s; see " + nodes.get(OWNER).log);
        }
    }

    private FioResult fio(List<String> target, Workload w, Path json) throws Exception {
        return fio(target, w, json, s.seconds());
    }

    /** Seconds of warm-up before each measured run: 1, or none for runs shorter than 5 s (quick checks, the tests). */
    static int rampSeconds(int seconds) {
        return seconds >= 5 ? 1 : 0;
    }

    /** One time-based fio run of {@code w} against {@code target} (engine and what it opens): warm-up, then {@code seconds} measured. */
    private FioResult fio(List<String> target, Workload w, Path json, int seconds) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("fio", "--name=demo"));
        cmd.addAll(target);
        cmd.addAll(List.of("--time_based", "--ramp_time=" + rampSeconds(seconds) + "s", "--runtime=" + seconds + "s", "--norandommap", "--randrepeat=0",
                "--percentile_list=50:99", "--output-format=json", "--output=" + json));
        cmd.addAll(w.fioArgs());
        command(cmd);
        Path console = json.resolveSibling(json.getFileName() + ".console");
        Child p = Child.start("fio", cmd, console, run);
        fios.add(p.process);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds + 120L);
            while (!p.process.waitFor(200, TimeUnit.MILLISECONDS)) {
                // fio's nbd engine retries forever against a dead server: never leave it connected to one.
                if (!allAlive() || System.nanoTime() > deadline) {
                    p.kill9();
                    throw new DemoFailure((allAlive() ? "fio did not finish" : "a server died during the run") + ": " + String.join(" ", cmd)
                            + deadProcesses());
                }
            }
        } finally {
            fios.remove(p.process);
        }
        if (p.process.exitValue() != 0 || !Files.exists(json)) {
            throw new DemoFailure("fio failed (exit " + p.process.exitValue() + "): " + String.join(" ", cmd) + "\n" + Child.tail(console, 20));
        }
        FioResult r = FioResult.parse(FioResult.read(json), w.direction());
        if (r.error() != 0 || r.ios() == 0) {
            throw new DemoFailure("fio reported error " + r.error() + " after " + r.ios() + " I/Os: see " + json);
        }
        return r;
    }

    /** nbdkit --filter=delay file san.img on {@link #sanSocket} (again after a crash: the socket and pid file are left behind). */
    private void startSan() throws IOException, InterruptedException, DemoFailure {
        Path pid = run.resolve("san.pid");
        Files.deleteIfExists(pid);
        Files.deleteIfExists(sanSocket);
        List<String> nbdkit = List.of("nbdkit", "--foreground", "--exit-with-parent", "--unix", sanSocket.toString(), "--pidfile",
                pid.toString(), "--filter=delay", "file", sanImage.toString(), "rdelay=" + s.delay(), "wdelay=" + s.delay());
        if (san == null) {
            command(nbdkit);
        }
        san = Child.start("san", nbdkit, run.resolve(san == null ? "san.log" : "san-restarted.log"), run);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(Files.exists(pid) && Files.size(pid) > 0)) {
            if (!san.isAlive() || System.nanoTime() > deadline) {
                throw new DemoFailure("nbdkit did not start:\n" + Child.tail(san.log, 20));
            }
            Thread.sleep(20);
        }
    }

    /**
     * nbdkit 1.32 (Debian 12) can abort ({@code raw_send_socket: Assertion `sock >= 0' failed}) when a
     * client dies while its delayed writes are still sleeping — which is what killing the owner does.
     * A real SAN would fail over; the demo starts nbdkit again, says so, and the hosts retry.
     */
    private void restartSanIfItDied(double now) throws IOException, InterruptedException, DemoFailure {
        if (san.isAlive()) {
            return;
        }
        out.printf(Locale.ROOT, "  +%5.1f s  the SAN (nbdkit) died (exit %d; its log: %s) — nbdkit 1.32 can abort when a client dies "
                + "mid-request; starting it again, the hosts retry%n", now, san.process.exitValue(), Child.tail(san.log, 1).strip());
        startSan();
    }

    private boolean allAlive() {
        return san.isAlive() && nodes.values().stream().allMatch(Child::isAlive);
    }

    private String deadProcesses() {
        StringBuilder sb = new StringBuilder();
        if (!san.isAlive()) {
            sb.append("\nnbdkit (the SAN) died; its log ").append(san.log).append(":\n").append(Child.tail(san.log, 10));
        }
        for (Child c : nodes.values()) {
            if (!c.isAlive()) {
                sb.append("\n").append(c.name).append(" died; its log ").append(c.log).append(":\n").append(Child.tail(c.log, 10));
            }
        }
        return sb.toString();
    }

    /** The side-by-side table. */
    void table(List<Row> rows) {
        out.println(table(rows, s.seconds(), s.delay()));
    }

    static String table(List<Row> rows, int seconds, String delay) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Results (fio --ioengine=nbd, %d s per run%s; latency = fio's completion latency):%n",
                seconds, rampSeconds(seconds) > 0 ? " after " + rampSeconds(seconds) + " s warm-up" : ""));
        String fmt = "  %-34s %12s %12s %12s%n";
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "  %s%n", r.workload().label()));
            sb.append(String.format(Locale.ROOT, fmt, "", "IOPS", "p50", "p99"));
            sb.append(String.format(Locale.ROOT, fmt, "SAN alone (" + delay + " per I/O)", String.format(Locale.ROOT, "%,.0f", r.san().iops()),
                    latency(r.san().p50Micros()), latency(r.san().p99Micros())));
            sb.append(String.format(Locale.ROOT, fmt, "Flashvisor write-back, 1 replica", String.format(Locale.ROOT, "%,.0f", r.flashvisor().iops()),
                    latency(r.flashvisor().p50Micros()), latency(r.flashvisor().p99Micros())));
            sb.append(String.format(Locale.ROOT, fmt, "Flashvisor vs SAN", times(r.flashvisor().iops() / r.san().iops(), "more", "fewer"),
                    times(r.san().p50Micros() / r.flashvisor().p50Micros(), "lower", "higher"),
                    times(r.san().p99Micros() / r.flashvisor().p99Micros(), "lower", "higher")));
            if (r.flashSync() != null) {
                sb.append(String.format(Locale.ROOT, fmt, "(flash stand-in: write + sync)", String.format(Locale.ROOT, "%,.0f",
                        r.flashSync().iops()), latency(r.flashSync().p50Micros()), latency(r.flashSync().p99Micros())));
            }
            if (!Double.isNaN(r.hitRatio())) {
                sb.append(String.format(Locale.ROOT, "  %-34s %.0f %% of reads served from hv1's flash%n", "", 100 * r.hitRatio()));
            }
        }
        return sb.toString();
    }

    /** {@code 9.3x more} when x ≥ 1, else {@code 2.1x fewer} (the inverse). */
    static String times(double x, String better, String worse) {
        if (Double.isNaN(x) || Double.isInfinite(x) || x <= 0) {
            return "?";
        }
        return x >= 1 ? String.format(Locale.ROOT, "%.1fx %s", x, better) : String.format(Locale.ROOT, "%.1fx %s", 1 / x, worse);
    }

    static String latency(double micros) {
        return micros >= 1000 ? String.format(Locale.ROOT, "%.2f ms", micros / 1000) : String.format(Locale.ROOT, "%.3f ms", micros / 1000);
    }

    static String mib(double bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / MiB);
    }

    // ------------------------------------------------------------------------------------------------------ power cut

    private static final Pattern TOOK_OVER = Pattern.compile(
            "took over volume (\\S+) from (\\S+) at epoch (\\d+): (\\d+) blocks destaged in ([0-9.]+) s; released: (true|false)");

    /** The crash writer's (and verifier's) job: one pass of 4 KiB random writes over the volume, every block at most once. */
    private List<String> crashJob() {
        return List.of("--name=crash", "--rw=randwrite", "--bs=4k", "--offset=0", "--size=" + s.sanBytes());
    }

    /**
     * The crash writer's rate limit in bytes/s: at most half the volume in the writing time, so fio's
     * single pass over the volume surely is still running at the trigger, however fast this machine.
     */
    private long crashRate() {
        return Math.max(1L << 20, s.sanBytes() / (2L * s.crashSeconds()));
    }

    private Path stateDir() {
        return run.resolve("fio-verify-state");
    }

    /** Writes, kills the owner, watches the takeover. Returns the dirty bytes at the kill. */
    private long powerCut() throws Exception {
        out.printf(Locale.ROOT, "[4/5] Power cut: fio writes %s (4 KiB random, iodepth 16, at most %s/s, verify=crc32c) for %d s, saves "
                + "what was acknowledged and stops; then %s is killed with SIGKILL%n", VOLUME, mib(crashRate()), s.crashSeconds(), OWNER);
        Path aux = Files.createDirectories(stateDir());
        Path trigger = run.resolve("fio-trigger");
        Files.deleteIfExists(trigger);
        Path json = run.resolve("fio-crash-write.json");
        List<String> cmd = new ArrayList<>(List.of("fio", "--output-format=json", "--output=" + json, "--trigger-file=" + trigger,
                "--trigger=kill -9 $PPID", "--thread", "--aux-path=" + aux, "--verify=crc32c", "--iodepth=16", "--ioengine=nbd",
                "--uri=" + volumeUri, "--do_verify=0", "--rate=" + crashRate()));
        cmd.addAll(crashJob());
        command(cmd);
        Path console = run.resolve("fio-crash-write.console");
        Child writer = Child.start("fio writer", cmd, console, run);
        fios.add(writer.process);
        try {
            long t0 = System.nanoTime();
            for (int sec = 1; sec <= s.crashSeconds(); sec++) {
                long until = t0 + TimeUnit.SECONDS.toNanos(sec);
                while (System.nanoTime() < until) {
                    if (!writer.isAlive()) {
                        throw new DemoFailure("the fio writer ended early (exit " + writer.process.exitValue() + "):\n" + Child.tail(console, 20));
                    }
                    if (!allAlive()) {
                        writer.kill9();
                        throw new DemoFailure("a server died while fio was writing" + deadProcesses());
                    }
                    Thread.sleep(50);
                }
                JsonNode st = volumeStatus();
                out.printf(Locale.ROOT, "  %d s: %s dirty on %s (acknowledged, not yet on the SAN)%n", sec, mib(st.path("dirtyBytes").asLong()),
                        OWNER);
            }
            Files.writeString(trigger, "stop\n");
            if (!writer.process.waitFor(30, TimeUnit.SECONDS)) {
                writer.kill9();
                throw new DemoFailure("fio did not act on its trigger file within 30 s");
            }
        } finally {
            fios.remove(writer.process);
        }
        Path state = aux.resolve("local-crash-0-verify.state");
        if (writer.process.exitValue() != 128 + 9 || !Files.isRegularFile(state) || Files.size(state) == 0) {
            throw new DemoFailure("fio did not save its verify state at the trigger (exit " + writer.process.exitValue() + "):\n"
                    + Child.tail(console, 20));
        }
        JsonNode atKill = volumeStatus();
        long dirty = atKill.path("dirtyBytes").asLong();
        long epochBefore = record(holderObserver()).path("epoch").asLong();
        Child owner = nodes.get(OWNER);
        long k0 = System.nanoTime();
        owner.kill9();
        out.printf(Locale.ROOT, "  fio stopped at its trigger (verify state saved); %s killed (SIGKILL, pid %d) with %s dirty: those "
                + "acknowledged writes are only on %s's flash and %s's replica%n", OWNER, owner.pid(), mib(dirty), OWNER, holder);

        // Watch the volume record from a survivor.
        String observer = holderObserver();
        double gone = Double.NaN;
        double takenOver = Double.NaN;
        double clean = Double.NaN;
        JsonNode last = null;
        String winner = null;
        long winnerEpoch = 0;
        long deadline = k0 + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && Double.isNaN(clean)) {
            JsonNode r;
            try {
                r = record(observer);
            } catch (IOException e) {
                Thread.sleep(100);
                continue;
            }
            double now = (System.nanoTime() - k0) / 1e9;
            restartSanIfItDied(now);
            if (r == null) {
                Thread.sleep(100);
                continue;
            }
            last = r;
            String o = r.path("owner").isNull() ? null : r.path("owner").asText();
            if (Double.isNaN(gone) && !(OWNER.equals(o) && r.path("ownerLive").asBoolean())) {
                gone = now;
                out.printf(Locale.ROOT, "  +%5.1f s  ZooKeeper expired %s's session (session timeout %s): %s is fenced%n", now, OWNER,
                        s.sessionTimeout(), OWNER);
            }
            if (Double.isNaN(takenOver) && o != null && !o.equals(OWNER)) {
                takenOver = now;
                winner = o;
                winnerEpoch = r.path("epoch").asLong();
                out.printf(Locale.ROOT, "  +%5.1f s  %s took %s over by itself (epoch %d -> %d, state %s): destaging its replica to the SAN%n",
                        now, o, VOLUME, epochBefore, winnerEpoch, r.path("state").asText());
            }
            if (o == null && r.path("state").asText().equals("CLEAN") && r.path("epoch").asLong() > epochBefore) {
                clean = now;
                if (Double.isNaN(takenOver)) {
                    // Taken over and released between two polls.
                    out.printf(Locale.ROOT, "  +%5.1f s  a holder took %s over and destaged it (between two looks at the record)%n", now, VOLUME);
                }
            }
            if (Double.isNaN(clean)) {
                Thread.sleep(100);
            }
        }
        if (Double.isNaN(clean)) {
            throw new DemoFailure(VOLUME + " was not clean on the SAN 120 s after " + OWNER + " was killed; its record: " + last
                    + "\nlogs: " + nodes.get(holder).log);
        }
        String how = "";
        for (String h : PEERS) {
            for (String line : nodes.get(h).logText().lines().toList()) {
                Matcher m = TOOK_OVER.matcher(line);
                if (m.find() && m.group(1).equals(VOLUME)) {
                    how = String.format(Locale.ROOT, " (%s destaged %,d blocks in %s s)", h, Long.parseLong(m.group(4)), m.group(5));
                    if (winner == null) {
                        winner = h;
                    }
                }
            }
        }
        out.printf(Locale.ROOT, "  +%5.1f s  %s is clean on the SAN and free to be served by any host (no owner, epoch %d)%s%n", clean, VOLUME,
                last.path("epoch").asLong(), how);
        out.printf(Locale.ROOT, "  => from the kill to every acknowledged write on the SAN: %.1f s%n", clean);
        out.println();
        return dirty;
    }

    /** A survivor to ask about the record: the peer that is not the holder (the holder is busy destaging), else the holder. */
    private String holderObserver() {
        for (String h : PEERS) {
            if (!h.equals(holder)) {
                return h;
            }
        }
        return holder;
    }

    private int verify(long dirtyAtKill) throws Exception {
        out.println("[5/5] Checking the SAN image directly: fio --verify_only --verify_state_load=1 (reads back every write fio saw "
                + "acknowledged and checks its crc32c)");
        if (Failpoints.active(LOSE_WRITES)) {
            out.printf(Locale.ROOT, "  PLANTED BUG (-D%s=%s): zeroing the first 16 MiB of the SAN image before the check%n", Failpoints.PROPERTY,
                    LOSE_WRITES);
            try (var ch = java.nio.channels.FileChannel.open(sanImage, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.allocate((int) Math.min(16L << 20, s.sanBytes())), 0);
                ch.force(true);
            }
        }
        Path json = run.resolve("fio-verify.json");
        List<String> cmd = new ArrayList<>(List.of("fio", "--output-format=json", "--output=" + json, "--thread", "--aux-path=" + stateDir(),
                "--verify=crc32c", "--iodepth=16", "--ioengine=psync", "--filename=" + sanImage, "--verify_only", "--verify_state_load=1",
                "--verify_state_save=0", "--verify_fatal=1", "--verify_dump=0"));
        cmd.addAll(crashJob());
        command(cmd);
        Path console = run.resolve("fio-verify.console");
        Child p = Child.start("fio verify", cmd, console, run);
        fios.add(p.process);
        try {
            if (!p.process.waitFor(300, TimeUnit.SECONDS)) {
                p.kill9();
                throw new DemoFailure("fio --verify_only did not finish within 300 s");
            }
        } finally {
            fios.remove(p.process);
        }
        JsonNode job = Files.exists(json) ? FioResult.read(json).path("jobs").path(0) : FioResult.JSON.createObjectNode();
        long verified = job.path("read").path("io_bytes").asLong();
        int error = job.path("error").asInt(-1);
        int exit = p.process.exitValue();
        if (exit != 0 || error != 0 || verified == 0) {
            throw new DemoFailure(String.format(Locale.ROOT, "DATA LOST: fio --verify_only on the SAN image failed (exit %d, error %d%s, %s "
                    + "verified); %s were dirty at the kill. fio's output (%s):%n%s", exit, error, error == 84 ? " = EILSEQ: a block read back "
                    + "wrong" : "", mib(verified), mib(dirtyAtKill), console, Child.tail(console, 25)));
        }
        out.printf(Locale.ROOT, "  nothing lost: %s acknowledged, 0 verify errors (%,d writes of 4 KiB read back from san.img; %s of them "
                + "were only on flash when %s died)%n", mib(verified), verified / 4096, mib(dirtyAtKill), OWNER);
        out.println();
        return 0;
    }

    private void failed(String message) {
        out.flush();
        System.err.println();
        System.err.println("flashvisor demo: FAILED: " + message);
        System.err.println();
        out.println("FAILED (see above and the logs)");
    }

    // ------------------------------------------------------------------------------------------------------ control socket

    private JsonNode volumeStatus() throws IOException {
        for (JsonNode v : control(OWNER, "status").path("volumes")) {
            if (v.path("name").asText().equals(VOLUME)) {
                return v;
            }
        }
        throw new IOException("no volume " + VOLUME + " in " + OWNER + "'s status");
    }

    private JsonNode record(String host) throws IOException {
        for (JsonNode v : control(host, "volumes").path("volumes")) {
            if (v.path("name").asText().equals(VOLUME)) {
                return v;
            }
        }
        return null;
    }

    /** One line to a host's control socket; its JSON reply (an IOException on an error reply). */
    private JsonNode control(String host, String line) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(controls.get(host)));
            OutputStream o = Channels.newOutputStream(ch);
            o.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            o.flush();
            ch.shutdownOutput();
            InputStream in = Channels.newInputStream(ch);
            JsonNode r = FioResult.JSON.readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            if (r == null || r.has("error")) {
                throw new IOException(host + " '" + line + "': " + (r == null ? "no answer" : r.get("error").asText()));
            }
            return r;
        }
    }

    // ------------------------------------------------------------------------------------------------------ plumbing

    /** Appends a command line to {@code commands.log} in the run directory, so every step can be rerun by hand. */
    private void command(List<String> cmd) {
        try {
            Files.writeString(run.resolve("commands.log"), shell(cmd) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            LOG.warn("cannot write commands.log: {}", e.toString());
        }
    }

    /** The command as a shell would need it typed: arguments with spaces or special characters single-quoted. */
    static String shell(List<String> cmd) {
        StringBuilder sb = new StringBuilder();
        for (String a : cmd) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            sb.append(a.matches("[A-Za-z0-9_/=.:,+%@-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return sb.toString();
    }

    private static void sparse(Path file, long bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(bytes);
        }
    }

    /** This JVM's own log (the embedded ZooKeeper's above all) goes to a file: the terminal shows only the demo's lines. */
    private static void logToFile(Path file) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return;
        }
        ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
        root.detachAndStopAllAppenders();
        PatternLayoutEncoder enc = new PatternLayoutEncoder();
        enc.setContext(ctx);
        enc.setPattern("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level %logger{0} - %msg%n");
        enc.start();
        FileAppender<ILoggingEvent> f = new FileAppender<>();
        f.setContext(ctx);
        f.setFile(file.toString());
        f.setEncoder(enc);
        f.start();
        root.addAppender(f);
    }

    /** Ctrl-C (SIGINT) or SIGTERM: stop everything in order, say where the logs are, exit 130. */
    private void installSignalHandlers() {
        Runnable onSignal = () -> {
            stopping = true;
            out.println();
            out.println("interrupted: stopping fio, the hosts, the SAN and ZooKeeper ...");
            close();
            Runtime.getRuntime().halt(130);
        };
        for (String sig : List.of("INT", "TERM")) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(sig), x -> Thread.ofPlatform().name("demo-stop").start(onSignal));
            } catch (IllegalArgumentException e) {
                LOG.debug("cannot handle SIG{}: {}", sig, e.toString());
            }
        }
        // If the JVM ends some other way (System.exit elsewhere): at least kill the children.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            fios.forEach(Process::destroyForcibly);
            List.copyOf(nodes.values()).forEach(c -> c.process.destroyForcibly());
        }, "demo-kill-children"));
    }

    /** Stops fio, the nodes (SIGTERM, SIGKILL after 60 s), the SAN and ZooKeeper; deletes the images; prints where the logs are. */
    synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        fios.forEach(p -> {
            p.destroyForcibly();
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        List<String> live = nodes.values().stream().filter(Child::isAlive).map(c -> c.name).toList();
        long t0 = System.nanoTime();
        if (!live.isEmpty() || san != null || zk != null) {
            out.printf(Locale.ROOT, "Stopping %sthe SAN and ZooKeeper ... ", live.isEmpty() ? "" : String.join(", ", live) + ", ");
            out.flush();
        }
        List<Thread> stoppers = new ArrayList<>();
        for (Child c : nodes.values()) {
            stoppers.add(Thread.ofPlatform().name("stop-" + c.name).start(() -> {
                try {
                    int code = c.stop(Duration.ofSeconds(60));
                    LOG.info("{} stopped with exit code {}", c.name, code);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        for (Thread t : stoppers) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (san != null) {
            try {
                san.stop(Duration.ofSeconds(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (zk != null) {
            zk.close();
        }
        if (san != null || !nodes.isEmpty() || zk != null) {
            out.printf(Locale.ROOT, "done in %.1f s.%n", (System.nanoTime() - t0) / 1e9);
        }
        if (run != null) {
            if (!s.keepImages()) {
                try (var files = Files.list(run)) {
                    for (Path p : files.filter(p -> p.getFileName().toString().endsWith(".img")).toList()) {
                        Files.deleteIfExists(p);
                    }
                } catch (IOException e) {
                    LOG.warn("cannot delete the images: {}", e.toString());
                }
                deleteTree(run.resolve("zookeeper"));
                if (flashDir != null && !flashDir.equals(run)) {
                    deleteTree(flashDir);
                }
            }
            out.printf(Locale.ROOT, "Logs: %s  (hv1.log hv2.log hv3.log: the hosts; san.log: nbdkit; demo.log: ZooKeeper; hvN.yaml: configs; "
                    + "commands.log: every command run; fio-*.json: fio's reports)%s%n", run, s.keepImages() ? "; images and ZooKeeper data kept (--keep)"
                    + (flashDir != null && !flashDir.equals(run) ? ", flash files in " + flashDir + " (delete them when done)" : "") : "");
            out.printf(Locale.ROOT, "Total time %.0f s.%n", (System.nanoTime() - started) / 1e9);
        }
        if (sockets != null) {
            deleteTree(sockets);
        }
        out.flush();
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            LOG.warn("cannot delete {}: {}", root, e.toString());
        }
    }
}
