package io.flashvisor.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** One fio measurement with the nbd engine, and what its JSON report says. */
record FioRun(double iops, double p50Micros, double p99Micros, double meanMicros, long ios, int errors) {

    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Runs {@code fio --ioengine=nbd} against {@code uri}: {@code rw} (randread or randwrite) of
     * {@code bs} at queue depth {@code depth}, {@code ramp} seconds of warm-up not counted, then
     * {@code runtime} seconds measured.
     */
    static FioRun run(String uri, String rw, String bs, int depth, int ramp, int runtime, Path out) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("fio", "--name=bench", "--ioengine=nbd", "--uri=" + uri, "--rw=" + rw, "--bs=" + bs,
                "--iodepth=" + depth, "--numjobs=1", "--time_based", "--ramp_time=" + ramp + "s", "--runtime=" + runtime + "s",
                "--norandommap", "--randrepeat=0", "--percentile_list=50:99:99.9",
                "--output-format=json", "--output=" + out));
        Path console = out.resolveSibling(out.getFileName() + ".console");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(console.toFile()).start();
        if (!p.waitFor(ramp + runtime + 120L, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("fio did not finish: " + String.join(" ", cmd));
        }
        String text = Files.exists(out) ? Files.readString(out, StandardCharsets.UTF_8) : "";
        int brace = text.startsWith("{") ? 0 : text.indexOf("\n{");
        if (p.exitValue() != 0 || brace < 0) {
            throw new IOException("fio failed (exit " + p.exitValue() + "): " + String.join(" ", cmd) + "\n"
                    + Files.readString(console, StandardCharsets.UTF_8) + text);
        }
        return parse(JSON.readTree(text.substring(brace)), rw.equals("randwrite") || rw.equals("write") ? "write" : "read");
    }

    static FioRun parse(JsonNode report, String direction) {
        JsonNode job = report.path("jobs").get(0);
        JsonNode d = job.path(direction);
        JsonNode clat = d.path("clat_ns");
        JsonNode pct = clat.path("percentile");
        return new FioRun(d.path("iops").asDouble(), pct.path("50.000000").asDouble() / 1000.0, pct.path("99.000000").asDouble() / 1000.0,
                clat.path("mean").asDouble() / 1000.0, d.path("total_ios").asLong(), job.path("error").asInt());
    }
}
