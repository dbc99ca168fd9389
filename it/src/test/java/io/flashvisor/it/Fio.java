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
