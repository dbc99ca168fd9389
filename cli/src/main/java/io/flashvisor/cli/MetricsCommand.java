package io.flashvisor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "metrics", mixinStandardHelpOptions = true,
        description = {"Print a running node's metrics in the Prometheus text format (what 'metrics: {listen: ...}' serves",
            "over HTTP): per volume health, dirty and cached bytes, hits, misses, destage, replicas and the latency",
            "breakdown. See docs/observability.md."})
final class MetricsCommand implements Callable<Integer> {

    @Option(names = "--control", paramLabel = "PATH", required = true, description = "The node's control socket.")
    Path control;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        JsonNode root = new ObjectMapper().readTree(ControlClient.call(control, "metrics"));
        if (root.has("error") || !root.has("metrics")) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("flashvisor: " + root.path("error").asText("the node does not answer 'metrics' (an older version?)"));
            err.flush();
            return Main.EXIT_FAILURE;
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(root.get("metrics").asText());
        out.flush();
        return 0;
    }
}
