package io.flashvisor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flashvisor.common.ByteSize;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Show a running node's flash device and, per volume: policy, health, hits, misses, dirty bytes, time to clean,",
            "and where latency goes over the last minute (p50/p99 of vm-read, vm-write, flash, peer, san)."})
final class StatusCommand implements Callable<Integer> {

    @Option(names = "--control", paramLabel = "PATH", required = true, description = "The node's control socket.")
    Path control;

    @Option(names = "--json", description = "Print the node's JSON reply as is.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        String reply = ControlClient.call(control, "status");
        JsonNode root = new ObjectMapper().readTree(reply);
        if (root.has("error")) {
            System.err.println("flashvisor: " + root.get("error").asText());
            return Main.EXIT_FAILURE;
        }
        if (json) {
            System.out.print(reply);
            return 0;
        }
        print(root, System.out);
        return 0;
    }

    static void print(JsonNode root, PrintStream out) {
        JsonNode f = root.get("flash");
        if (f != null) {
            out.printf(Locale.ROOT, "flash %s: %s cached of %s, %s dirty, %d/%d segments free%s%n", f.get("device").asText(),
                    size(f, "cachedBytes"), size(f, "capacityBytes"), size(f, "dirtyBytes"), f.get("freeSegments").asInt(),
                    f.get("segments").asInt(), f.get("failed").asBoolean() ? ", FAILED" : "");
        } else {
            out.println("no flash device: every volume is pass-through");
        }
        out.printf(Locale.ROOT, "%-16s %-14s %-16s %9s %9s %7s %10s %10s %12s%n", "VOLUME", "POLICY", "HEALTH", "HITS", "MISSES",
                "HIT%", "DIRTY", "DESTAGED", "TO CLEAN");
        for (JsonNode v : root.get("volumes")) {
            if (v.path("health").asText().equals("waiting")) {
                // Configured, not served yet: another host owns it or its takeover is unfinished; the node tries again.
                out.printf(Locale.ROOT, "%-16s %-14s %s%n", v.get("name").asText(), v.get("policy").asText(), "waiting");
                out.println("  waiting since " + v.path("since").asText() + ": " + v.path("reason").asText());
                continue;
            }
            long hits = v.get("hits").asLong();
            long misses = v.get("misses").asLong();
            double toClean = v.get("secondsToClean").asDouble();
            out.printf(Locale.ROOT, "%-16s %-14s %-16s %9d %9d %6.1f%% %10s %10s %12s%n", v.get("name").asText(),
                    v.get("policy").asText(), v.get("health").asText(), hits, misses,
                    hits + misses == 0 ? 0.0 : 100.0 * hits / (hits + misses), size(v, "dirtyBytes"), size(v, "destagedBytes"),
                    toClean < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f s", toClean));
            if (v.has("latency")) {
                out.println("  " + latency(v.get("latency")));
            }
            if (v.path("replicas").asInt() > 0 && v.path("liveReplicas").asInt() < v.path("replicas").asInt()) {
                out.printf(Locale.ROOT, "  replicas: %d of %d live%n", v.path("liveReplicas").asInt(), v.path("replicas").asInt());
            }
            JsonNode sizing = v.get("sizing");
            if (sizing != null && sizing.get("accesses").asLong() > 0) {
                out.printf(Locale.ROOT, "  flash needed for 80/90/95 %% hits: %s / %s / %s (from %d accesses)%n", need(sizing, "bytesFor80"),
                        need(sizing, "bytesFor90"), need(sizing, "bytesFor95"), sizing.get("accesses").asLong());
            }
            for (String problem : new String[] {"destageError", "flashFailure"}) {
                if (v.hasNonNull(problem)) {
                    out.println("  " + problem + ": " + v.get(problem).asText());
                }
            }
        }
    }

    /** {@code latency p50/p99 (last minute): vm-read 45us/900us  vm-write ...}; "-" for a component without operations. */
    static String latency(JsonNode latency) {
        StringBuilder sb = new StringBuilder("latency p50/p99 (last minute):");
        for (String c : new String[] {"vm-read", "vm-write", "flash-read", "flash-write", "peer", "san"}) {
            JsonNode s = latency.path(c);
            sb.append("  ").append(c).append(' ');
            sb.append(s.path("count").asLong() == 0 ? "-"
                    : micros(s.path("p50Micros").asLong()) + "/" + micros(s.path("p99Micros").asLong()));
        }
        return sb.toString();
    }

    /** 850us, 1.2ms, 35ms, 2.5s: two or three significant digits, as the measurement has. */
    static String micros(long us) {
        if (us < 1000) {
            return us + "us";
        }
        if (us < 1_000_000) {
            return us < 10_000 ? String.format(Locale.ROOT, "%.1fms", us / 1e3) : (us + 500) / 1000 + "ms";
        }
        return String.format(Locale.ROOT, "%.1fs", us / 1e6);
    }

    private static String need(JsonNode n, String field) {
        long bytes = n.get(field).asLong();
        return bytes < 0 ? "more than seen" : ByteSize.format(bytes);
    }

    private static String size(JsonNode n, String field) {
        return ByteSize.format(n.get(field).asLong());
    }
}
