package io.flashvisor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "volumes", mixinStandardHelpOptions = true,
        description = {"List the volume records of the cluster a running node belongs to: policy, replicas, owner, epoch, state, replica set."})
final class VolumesCommand implements Callable<Integer> {

    @Option(names = "--control", paramLabel = "PATH", required = true, description = "The node's control socket.")
    Path control;

    @Option(names = "--json", description = "Print the node's JSON reply as is.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        return HostsCommand.run(spec, control, "volumes", json, VolumesCommand::print);
    }

    static void print(JsonNode root, PrintWriter out) {
        HostsCommand.printHeader(root, out);
        out.printf(Locale.ROOT, "%-20s %-13s %8s %-24s %6s %-9s %s%n", "VOLUME", "POLICY", "REPLICAS", "OWNER", "EPOCH", "STATE", "REPLICA SET");
        for (JsonNode v : root.get("volumes")) {
            String owner = v.get("owner").isNull() ? "-"
                    : v.get("owner").asText() + (v.get("ownerLive").asBoolean() ? "" : " (gone)");
            List<String> set = new ArrayList<>();
            v.get("replicaSet").forEach(h -> set.add(h.asText()));
            out.printf(Locale.ROOT, "%-20s %-13s %8d %-24s %6d %-9s %s%n", v.get("name").asText(), v.get("policy").asText(),
                    v.get("replicas").asInt(), owner, v.get("epoch").asLong(), v.get("state").asText(),
                    set.isEmpty() ? "-" : String.join(",", set));
        }
    }
}
