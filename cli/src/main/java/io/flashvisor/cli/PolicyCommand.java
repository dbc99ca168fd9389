package io.flashvisor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "policy", mixinStandardHelpOptions = true,
        description = {"Change a volume's policy on a running node, without disconnecting its clients.",
            "Leaving write-back destages the dirty data at full speed; with --wait, waits until it is clean."})
final class PolicyCommand implements Callable<Integer> {

    @Option(names = "--control", paramLabel = "PATH", required = true, description = "The node's control socket.")
    Path control;

    @Option(names = "--wait", paramLabel = "SECONDS", description = "Then wait up to this long for the volume to be clean, showing progress.")
    Long waitSeconds;

    @Parameters(index = "0", paramLabel = "VOLUME")
    String volume;

    @Parameters(index = "1", paramLabel = "POLICY", description = "pass-through, write-through, write-around or write-back")
    String policy;

    @Override
    public Integer call() throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonNode r = json.readTree(ControlClient.call(control, "policy " + volume + " " + policy));
        if (r.has("error")) {
            System.err.println("flashvisor: " + r.get("error").asText());
            return Main.EXIT_FAILURE;
        }
        System.out.println(volume + ": policy " + r.get("policy").asText() + ", health " + r.get("health").asText()
                + ", dirty " + r.get("dirtyBytes").asLong() + " bytes");
        if (waitSeconds == null) {
            return 0;
        }
        long deadline = System.nanoTime() + waitSeconds * 1_000_000_000L;
        while (true) {
            JsonNode d = json.readTree(ControlClient.call(control, "drain " + volume + " 1"));
            if (d.has("error")) {
                System.err.println("flashvisor: " + d.get("error").asText());
                return Main.EXIT_FAILURE;
            }
            JsonNode v = d.get("volume");
            System.out.println("  dirty " + v.get("dirtyBytes").asLong() + " bytes, destaged " + v.get("destagedBytes").asLong()
                    + " bytes, " + String.format(java.util.Locale.ROOT, "%.1f", v.get("secondsToClean").asDouble()) + " s to clean");
            if (d.get("clean").asBoolean()) {
                System.out.println(volume + ": clean");
                return 0;
            }
            if (System.nanoTime() > deadline) {
                System.err.println("flashvisor: " + volume + " is not clean after " + waitSeconds + " s");
                return Main.EXIT_FAILURE;
            }
        }
    }
}
