package io.flashvisor.cli;

import io.flashvisor.nbd.Listener;
import io.flashvisor.node.Node;
import io.flashvisor.node.NodeSettings;
import java.io.PrintStream;
import java.util.function.Consumer;
import sun.misc.Signal;

/**
 * Runs a node in the foreground until SIGTERM or SIGINT, then shuts it down gracefully (drains
 * in-flight I/O) and returns, so the process exits 0 after a requested stop.
 */
final class NodeRunner {
    private NodeRunner() {
    }

    /**
     * Starts the node, prints {@code metrics URL} if it serves metrics over HTTP, then one {@code ready URI}
     * line per listener on {@code out} (scripts and tests wait for it), lets {@code onReady} print more, and
     * blocks until the node has stopped.
     */
    static int run(NodeSettings settings, String export, PrintStream out, Consumer<Node> onReady) throws Exception {
        Node node = Node.start(settings);
        Runnable stop = () -> {
            try {
                node.close();
            } catch (Exception e) {
                System.err.println("flashvisor: error while stopping: " + e);
            }
        };
        for (String sig : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(sig), s -> Thread.ofPlatform().name("shutdown").start(stop));
        }
        if (node.metricsUrl() != null) {
            out.println("metrics " + node.metricsUrl()); // before the ready lines: whoever waits for those has it
        }
        for (Listener l : settings.listeners()) {
            out.println("ready " + node.uri(l, export));
        }
        onReady.accept(node);
        out.flush();
        node.awaitStopped();
        return 0;
    }
}
