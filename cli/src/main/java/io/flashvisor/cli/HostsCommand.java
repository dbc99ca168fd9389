package io.flashvisor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flashvisor.common.ByteSize;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "hosts", mixinStandardHelpOptions = true,
        description = {"List the live hosts of the cluster a running node belongs to: peer address, fault domain, flash, free flash, session."})
final class HostsCommand implements Callable<Integer> {

    @Option(names = "--control", paramLabel = "PATH", required = true, description = "The node's control socket.")
    Path control;

    @Option(names = "--json", description = "Print the node's JSON reply as is.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        return run(spec, control, "hosts", json, HostsCommand::print);
    }

    /** Sends {@code command}, prints the error or the reply (as JSON or through {@code printer}); the exit code. */
    static int run(CommandSpec spec, Path control, String command, boolean json, BiConsumer<JsonNode, PrintWriter> printer)
            throws Exception {
        String reply = ControlClient.call(control, command);
        JsonNode root = new ObjectMapper().readTree(reply);
        PrintWriter out = spec.commandLine().getOut();
        if (root.has("error")) {
            spec.commandLine().getErr().println("flashvisor: " + root.get("error").asText());
            spec.commandLine().getErr().flush();
            return Main.EXIT_FAILURE;
        }
        if (json) {
            out.print(reply);
        } else {
            printer.accept(root, out);
        }
        out.flush();
        return 0;
    }

    /** The line above both tables: which cluster, seen from which host. */
    static void printHeader(JsonNode root, PrintWriter out) {
        out.printf(Locale.ROOT, "cluster %s, seen from host %s (session %s)%n", root.get("cluster").asText(), root.get("host").asText(),
                root.get("sessionState").asText());
    }

    static void print(JsonNode root, PrintWriter out) {
        printHeader(root, out);
        out.printf(Locale.ROOT, "%-20s %-24s %-14s %10s %10s  %s%n", "HOST", "PEER ADDRESS", "FAULT DOMAIN", "FLASH", "FREE", "SESSION");
        for (JsonNode h : root.get("hosts")) {
            out.printf(Locale.ROOT, "%-20s %-24s %-14s %10s %10s  %s%n", h.get("hostId").asText(), h.get("peerAddress").asText(),
                    h.get("faultDomain").asText(), ByteSize.format(h.get("flashCapacityBytes").asLong()),
                    ByteSize.format(h.get("freeFlashBytes").asLong()), h.get("session").asText());
        }
    }
}
