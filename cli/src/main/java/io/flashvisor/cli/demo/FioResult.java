package io.flashvisor.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What one fio job's JSON report says about one direction ({@code read}, {@code write}, or
 * {@code mixed} with {@code --unified_rw_reporting=mixed}): IOPS, completion-latency percentiles in
 * microseconds, completed I/Os and bytes, and the job's error code.
 */
record FioResult(double iops, double p50Micros, double p99Micros, long ios, long bytes, int error) {

    static final ObjectMapper JSON = new ObjectMapper();

    static FioResult parse(JsonNode report, String direction) {
        JsonNode job = report.path("jobs").path(0);
        JsonNode d = job.path(direction);
        JsonNode pct = d.path("clat_ns").path("percentile");
        return new FioResult(d.path("iops").asDouble(), pct.path("50.000000").asDouble() / 1000.0, pct.path("99.000000").asDouble() / 1000.0,
                d.path("total_ios").asLong(), d.path("io_bytes").asLong(), job.path("error").asInt());
    }

    /** The report in {@code file}; fio may print notes before the JSON object, which are skipped. */
    static JsonNode read(Path file) throws IOException {
        String text = Files.readString(file);
        int brace = text.startsWith("{") ? 0 : text.indexOf("\n{");
        if (brace < 0) {
            throw new IOException("no JSON report in " + file);
        }
        return JSON.readTree(text.substring(brace));
    }
}
