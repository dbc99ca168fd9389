package io.flashvisor.it;

import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** fio command lines and its JSON output ({@code --output-format=json --output=FILE}). */
public final class Fio {
    private Fio() {
    }

    /** {@code fio ARGS --output-format=json --output=OUT}; fio's own messages still go to stdout. */
    public static List<String> command(Path jsonOut, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("fio");
        cmd.addAll(List.of(args));
        cmd.add("--verify_state_save=0"); // no local-*-verify.state files in the working directory
        cmd.add("--output-format=json");
        cmd.add("--output=" + jsonOut);
        return cmd;
    }

    /**
     * {@code fio GLOBAL... JOBS... --output-format=json --output=OUT}, with every global option before
     * the first {@code --name}: on fio's command line an option after a {@code --name} belongs to that
     * job only (a trailing {@code --verify_only} would make only the last job a verifier).
     */
    public static List<String> jobs(Path jsonOut, List<String> global, List<String> jobs) {
        List<String> cmd = new ArrayList<>();
        cmd.add("fio");
        cmd.add("--output-format=json");
        cmd.add("--output=" + jsonOut);
        cmd.add("--verify_state_save=0");
        cmd.addAll(global);
        cmd.addAll(jobs);
        return cmd;
    }

    /**
     * Runs fio to completion as a process the kit owns and {@link CrashChecker#killWriters} kills
     * (so a test that fails or times out never leaves fio connected to a server being stopped).
     */
    public static Tools.Result run(TestKit kit, String label, List<String> cmd, java.time.Duration timeout) {
        Tools.Background b = kit.background(label, cmd);
        CrashChecker.track(b.process());
        return b.await(timeout);
    }

    /** Asserts fio's exit code 0 and, per job, error 0 and at least {@code minRead} bytes read (verified); returns the report. */
    public static JsonNode assertVerified(Tools.Result r, Path jsonOut, long minRead) {
        JsonNode report = report(jsonOut);
        String summary = summary(report);
        r.ok();
        for (JsonNode j : report.path("jobs")) {
            org.assertj.core.api.Assertions.assertThat(j.path("error").asInt()).as("fio job error\n" + summary + r).isZero();
            org.assertj.core.api.Assertions.assertThat(j.path("read").path("io_bytes").asLong()).as("bytes verified\n" + summary)
                    .isGreaterThanOrEqualTo(minRead);
        }
        return report;
    }

    /** The JSON report (fio may print warnings before it). */
    public static JsonNode report(Path jsonOut) {
        try {
            // The report is at the end; fio may have written warnings or (a lot of) errors before it.
            String s = Tools.readTail(jsonOut, Tools.MAX_CAPTURE);
            int i = s.startsWith("{") ? 0 : s.lastIndexOf("\n{\n  \"fio version\"");
            if (i < 0) {
                return fail("no JSON report in " + jsonOut + ":\n" + Tools.tail(s));
            }
            return Tools.JSON.readTree(s.substring(i));
        } catch (IOException e) {
            return fail("cannot read fio's report " + jsonOut + ": " + e);
        }
    }

    /** One line per job: name, error, bytes written and read — for assertion messages. */
    public static String summary(JsonNode report) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode j : report.path("jobs")) {
            sb.append(j.path("jobname").asText()).append(": error=").append(j.path("error").asInt())
                    .append(" written=").append(j.path("write").path("io_bytes").asLong())
                    .append(" read=").append(j.path("read").path("io_bytes").asLong())
                    .append(" write_iops=").append(Math.round(j.path("write").path("iops").asDouble()))
                    .append(" read_iops=").append(Math.round(j.path("read").path("iops").asDouble())).append('\n');
        }
        return sb.toString();
    }
}
