package io.flashvisor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One fio measurement and what its JSON report says: IOPS, completion latency (clat) percentiles
 * and mean in µs, bandwidth in MiB/s and fio's own CPU use (usr + sys, % of one core).
 */
record FioRun(double iops, double p50Micros, double p99Micros, double meanMicros, long ios, int errors, double mibPerSecond,
              double cpuPercent) {

    static final ObjectMapper JSON = new ObjectMapper();

    /** fio processes started here and still running: {@link #killAll()} ends them (by pid) when the benchmark exits. */
    private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

    /**
     * Runs {@code fio --ioengine=nbd} against {@code uri}: {@code rw} (randread or randwrite) of
     * {@code bs} at queue depth {@code depth}, {@code ramp} seconds of warm-up not counted, then
     * {@code runtime} seconds measured.
     */
    static FioRun run(String uri, String rw, String bs, int depth, int ramp, int runtime, Path out) throws IOException, InterruptedException {
        return run(List.of("--ioengine=nbd", "--uri=" + uri, "--rw=" + rw, "--bs=" + bs, "--iodepth=" + depth),
                rw.equals("randwrite") || rw.equals("write") ? "write" : "read", ramp, runtime, out, () -> true);
    }

    /**
     * Runs one time-based fio job with {@code args} (engine, target, rw, bs, iodepth, ...) for
     * {@code ramp} seconds not counted, then {@code runtime} seconds measured, and reports the
     * {@code direction} section of the JSON ("read", "write", or "mixed" with
     * {@code --unified_rw_reporting=mixed}). fio is killed at once if {@code healthy} turns false
     * (a server it talks to died: fio's nbd engine would otherwise retry forever).
     */
    static FioRun run(List<String> args, String direction, int ramp, int runtime, Path out, BooleanSupplier healthy)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("fio", "--name=bench", "--numjobs=1", "--time_based", "--ramp_time=" + ramp + "s",
                "--runtime=" + runtime + "s", "--norandommap", "--randrepeat=0", "--percentile_list=50:99:99.9",
                "--output-format=json", "--output=" + out));
        cmd.addAll(args);
        return parse(JSON.readTree(exec(cmd, ramp + runtime + 120L, out, healthy)), direction);
    }

    /**
     * Runs one fio job that is not time-based and keeps fio's random map, so a random pattern
     * touches every block of the region once (cache warm-up, filling a region); returns its report.
     */
    static FioRun once(List<String> args, String direction, long timeoutSeconds, Path out, BooleanSupplier healthy)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("fio", "--name=fill", "--numjobs=1", "--output-format=json", "--output=" + out));
        cmd.addAll(args);
        return parse(JSON.readTree(exec(cmd, timeoutSeconds, out, healthy)), direction);
    }

    private static String exec(List<String> cmd, long timeoutSeconds, Path out, BooleanSupplier healthy) throws IOException, InterruptedException {
        Files.deleteIfExists(out);
        Path console = out.resolveSibling(out.getFileName() + ".console");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(console.toFile()).start();
        RUNNING.add(p);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
            while (!p.waitFor(250, TimeUnit.MILLISECONDS)) {
                if (!healthy.getAsBoolean()) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    throw new IOException("a server died during the run; fio stopped: " + String.join(" ", cmd));
                }
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    throw new IOException("fio did not finish: " + String.join(" ", cmd));
                }
            }
        } finally {
            RUNNING.remove(p);
        }
        String text = Files.exists(out) ? Files.readString(out, StandardCharsets.UTF_8) : "";
        int brace = text.startsWith("{") ? 0 : text.indexOf("\n{");
        if (p.exitValue() != 0 || brace < 0) {
            throw new IOException("fio failed (exit " + p.exitValue() + "): " + String.join(" ", cmd) + "\n"
                    + Files.readString(console, StandardCharsets.UTF_8) + text);
        }
        return text.substring(brace);
    }

    /** Kills (SIGKILL, by pid) every fio this JVM started that is still running. */
    static void killAll() {
        for (Process p : RUNNING) {
            p.destroyForcibly();
        }
    }

    static FioRun parse(JsonNode report, String direction) {
        JsonNode job = report.path("jobs").get(0);
        JsonNode d = job.path(direction);
        JsonNode clat = d.path("clat_ns");
        JsonNode pct = clat.path("percentile");
        return new FioRun(d.path("iops").asDouble(), pct.path("50.000000").asDouble() / 1000.0, pct.path("99.000000").asDouble() / 1000.0,
                clat.path("mean").asDouble() / 1000.0, d.path("total_ios").asLong(), job.path("error").asInt(),
                d.path("bw_bytes").asDouble() / (1 << 20), job.path("usr_cpu").asDouble() + job.path("sys_cpu").asDouble());
    }
}
