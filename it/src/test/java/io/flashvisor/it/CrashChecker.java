package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The crash checker: fio's power-cut workflow, shared by the real crash tests and their negative
 * control, so that the control proves the very code the real tests rely on.
 *
 * <ol>
 * <li>{@link #startWriter}: fio ({@code --thread}, one process) writes random blocks with
 *     {@code verify=crc32c} headers, rate-limited so a kill surely comes mid-run, with
 *     {@code --trigger-file}/{@code --trigger='kill -9 $PPID'}.</li>
 * <li>{@link Writer#stopAtTrigger}: the test creates the trigger file; fio saves its verify state
 *     (per job: how many writes completed, which were still in flight) into the scratch directory
 *     and its trigger command kills fio itself with SIGKILL. Only then may the test kill the
 *     server: fio 3.33's nbd engine never gives up on a reset connection and writes errors until
 *     the disk is full, so no fio may be connected to a server that dies.</li>
 * <li>{@link #verifyOnly}: after the server's restart, {@code fio --verify_only
 *     --verify_state_load=1} reads back every write the saved state says completed (in-flight ones
 *     are skipped: they may or may not have happened) and checks each block's header and CRC32C —
 *     through the server again, or directly on a file.</li>
 * </ol>
 *
 * <p>Each job writes every block of its region at most once (fio's random map), so a block read
 * back holds the one write fio made there or nothing. A lost acknowledged write reads as zeroes or
 * as whatever was there before: a verify error.
 *
 * <p>fio's command line: options before the first {@code --name} are global; an option after a
 * {@code --name} belongs to that job only. The checker therefore puts every global option first (a
 * trailing {@code --verify_only} would turn only the last job into a verifier, and the other jobs
 * would quietly rewrite their data — and pass).
 */
public final class CrashChecker {
    public static final long MiB = 1 << 20;

    /** One fio job: its name and options (region, block sizes, pattern). */
    public record Job(String name, long offset, long size, List<String> options) {
        List<String> args() {
            List<String> a = new ArrayList<>();
            a.add("--name=" + name);
            a.add("--offset=" + offset);
            a.add("--size=" + size);
            a.addAll(options);
            return a;
        }
    }

    /** fio processes started by checkers and not known to be gone: killed (by pid) by {@link #killWriters}. */
    private static final Set<Process> WRITERS = ConcurrentHashMap.newKeySet();

    private final TestKit kit;
    private final String label;
    private final List<Job> jobs;
    private final List<String> writeOptions;
    /** Where the writer saves its state (fio's --aux-path). */
    private final Path stateDir;
    /** The writer's state as saved at the trigger; every verification starts from a copy of it. */
    private final Path savedState;
    private final Path trigger;
    private int verifications;

    /**
     * @param writeOptions options of the write phase only (e.g. a rate limit)
     */
    public CrashChecker(TestKit kit, String label, List<Job> jobs, List<String> writeOptions) {
        this.kit = kit;
        this.label = label;
        this.jobs = List.copyOf(jobs);
        this.writeOptions = List.copyOf(writeOptions);
        this.stateDir = kit.file("fio-state-" + label);
        this.savedState = kit.file("fio-saved-state-" + label);
        this.trigger = kit.file("fio-trigger-" + label);
        try {
            Files.createDirectories(stateDir);
            Files.createDirectories(savedState);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The standard workload of the crash tests, on a device of at least 128 MiB: a 4 KiB random
     * writer over [0, 48M) and a 4–64 KiB random writer over [64M, 112M), 16 requests in flight
     * each, 6 MiB/s each: a full pass would take 8 s, so a trigger after a few seconds is mid-run.
     */
    public static CrashChecker standard(TestKit kit, String label) {
        return new CrashChecker(kit, label, List.of(
                new Job("rand4k", 0, 48 * MiB, List.of("--rw=randwrite", "--bs=4k")),
                new Job("randmix", 64 * MiB, 48 * MiB, List.of("--rw=randwrite", "--bsrange=4k-64k"))),
                List.of("--rate=6m"));
    }

    public List<Job> jobs() {
        return jobs;
    }

    private List<String> common(Path auxPath) {
        return List.of("--thread", "--aux-path=" + auxPath, "--verify=crc32c", "--iodepth=16", "--group_reporting=0");
    }

    /** Starts the writer against an NBD URI. */
    public Writer startWriter(String uri) {
        deleteState();
        Path json = kit.file("fio-write-" + label + ".json");
        List<String> cmd = new ArrayList<>(List.of("fio", "--output-format=json", "--output=" + json, "--trigger-file=" + trigger,
                "--trigger=kill -9 $PPID"));
        cmd.addAll(common(stateDir));
        cmd.addAll(List.of("--ioengine=nbd", "--uri=" + uri, "--do_verify=0"));
        cmd.addAll(writeOptions);
        for (Job j : jobs) {
            cmd.addAll(j.args());
        }
        Tools.Background b = kit.background("fio writer (" + label + ")", cmd);
        track(b.process());
        return new Writer(b);
    }

    private void deleteState() {
        try {
            for (Path dir : List.of(stateDir, savedState)) {
                try (var files = Files.list(dir)) {
                    for (Path p : files.toList()) {
                        Files.delete(p);
                    }
                }
            }
            Files.deleteIfExists(trigger);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Copies every file of {@code from} into {@code to} (replacing). */
    private static void copyFiles(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path p : files.toList()) {
                Files.copy(p, to.resolve(p.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    /** The running writer. */
    public final class Writer {
        private final Tools.Background fio;

        private Writer(Tools.Background fio) {
            this.fio = fio;
        }

        public boolean isAlive() {
            return fio.isAlive();
        }

        /** Lets fio write for {@code time}; fails if it ended meanwhile (an error, or it finished: the kill would not be mid-run). */
        public void writeFor(Duration time) throws InterruptedException {
            long deadline = System.nanoTime() + time.toNanos();
            while (System.nanoTime() < deadline) {
                assertThat(fio.isAlive()).as("fio writer still running\n" + fio.output()).isTrue();
                Thread.sleep(50);
            }
            assertThat(fio.isAlive()).as("fio writer still running\n" + fio.output()).isTrue();
        }

        /**
         * Lets fio write for {@code time}, then on — at most {@code extra} longer — until
         * {@code dirtyBytes} reports at least {@code atLeast}: on a loaded machine less is written per
         * second, and what a crash test relies on is the dirty amount at the kill, not the time.
         */
        public void writeUntilDirty(Duration time, java.util.function.LongSupplier dirtyBytes, long atLeast, Duration extra)
                throws InterruptedException {
            writeFor(time);
            long deadline = System.nanoTime() + extra.toNanos();
            while (dirtyBytes.getAsLong() < atLeast && System.nanoTime() < deadline) {
                writeFor(Duration.ofMillis(200));
            }
        }

        /**
         * Creates the trigger file and waits until fio has saved its verify state and killed itself.
         * Only after this returns may the test kill the server.
         */
        public void stopAtTrigger() throws IOException, InterruptedException {
            assertThat(fio.isAlive()).as("fio writer still running at the trigger\n" + fio.output()).isTrue();
            Files.writeString(trigger, "stop\n");
            if (!fio.process().waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                fio.process().destroyForcibly().waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
                fail("fio did not act on its trigger file within 30 s (killed)\n" + fio.output());
            }
            assertThat(fio.process().exitValue()).as("fio killed by its own trigger (SIGKILL), not finished or failed\n" + fio.output())
                    .isEqualTo(128 + 9);
            for (int i = 0; i < jobs.size(); i++) {
                Path state = stateDir.resolve("local-" + jobs.get(i).name() + "-" + i + "-verify.state");
                assertThat(state).as("fio's verify state of job " + jobs.get(i).name()).isNotEmptyFile();
            }
            // A fio run that loads the state also saves its own when it ends (verify_state_save is on by
            // default), which would make a second verification check what the first one read: keep
            // the trigger's state and give every verification a fresh copy.
            copyFiles(stateDir, savedState);
        }
    }

    /** What {@code fio --verify_only} found. */
    public record Verdict(int exitCode, List<JobResult> jobs, String output) {
        /** No error anywhere and every job verified something. */
        public boolean clean() {
            return exitCode == 0 && jobs.stream().allMatch(j -> j.error() == 0 && j.verifiedBytes() > 0);
        }

        public String summary() {
            StringBuilder sb = new StringBuilder("fio --verify_only: exit code " + exitCode + "\n");
            for (JobResult j : jobs) {
                sb.append("  ").append(j).append('\n');
            }
            return sb.toString();
        }

        @Override
        public String toString() {
            return summary() + Tools.tail(output);
        }
    }

    /** @param error fio's error code of the job (84 EILSEQ: a block failed verification) */
    public record JobResult(String name, int error, long verifiedBytes) {
    }

    /** {@code fio --verify_only} through an NBD server. */
    public Verdict verifyOnlyNbd(String uri) {
        return verifyOnly(List.of("--ioengine=nbd", "--uri=" + uri));
    }

    /** {@code fio --verify_only} directly on a file (e.g. the backing image, with the server stopped). */
    public Verdict verifyOnlyFile(Path file) {
        return verifyOnly(List.of("--ioengine=psync", "--filename=" + file));
    }

    /**
     * Reads back, in a new fio process, every write the saved state says completed, and verifies it.
     *
     * @param target the I/O engine and what it reads (global options)
     */
    public Verdict verifyOnly(List<String> target) {
        int n = ++verifications;
        Path json = kit.file("fio-verify-" + label + "-" + n + ".json");
        Path aux = kit.file("fio-verify-state-" + label + "-" + n);
        try (var saved = Files.list(savedState)) {
            assertThat(saved.count()).as("the writer's saved state (stopAtTrigger first)").isEqualTo(jobs.size());
            copyFiles(savedState, aux);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        List<String> cmd = new ArrayList<>(List.of("fio", "--output-format=json", "--output=" + json));
        cmd.addAll(common(aux));
        cmd.addAll(target);
        cmd.addAll(List.of("--verify_only", "--verify_state_load=1", "--verify_state_save=0", "--verify_fatal=1", "--verify_dump=0"));
        for (Job j : jobs) {
            cmd.addAll(j.args());
        }
        // In the scratch directory, where the state files are named relative to --aux-path.
        Tools.Background b = kit.background("fio verify_only (" + label + ")", cmd);
        track(b.process());
        Tools.Result r = b.await(Duration.ofSeconds(120));
        JsonNode report = Fio.report(json);
        List<JobResult> results = new ArrayList<>();
        for (JsonNode j : report.path("jobs")) {
            results.add(new JobResult(j.path("jobname").asText(), j.path("error").asInt(), j.path("read").path("io_bytes").asLong()));
        }
        if (results.size() != jobs.size()) {
            fail("fio --verify_only reported " + results.size() + " jobs, expected " + jobs.size() + "\n" + r);
        }
        return new Verdict(r.exitCode(), results, r.stdout());
    }

    /** Has {@link #killWriters} kill this fio process too (any fio connected to a server the test may stop). */
    public static void track(Process fio) {
        WRITERS.add(fio);
        fio.onExit().thenRun(() -> WRITERS.remove(fio));
    }

    /** Kills (SIGKILL, by pid) every fio process a checker started that is still running: call it before servers stop. */
    public static void killWriters() {
        for (Process p : List.copyOf(WRITERS)) {
            p.destroyForcibly();
            try {
                p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            WRITERS.remove(p);
        }
    }
}
