package io.flashvisor.cli;

import io.flashvisor.node.ConfigException;
import io.flashvisor.node.ConfigLoader;
import io.flashvisor.node.NodeSettings;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "node", mixinStandardHelpOptions = true,
        description = {"Run a Flashvisor node from a YAML configuration file (listeners and volumes).",
            "Prints 'ready URI' for each listener once it accepts connections; SIGTERM or Ctrl-C stops it",
            "gracefully. See README.md, 'Configuration reference'."})
final class NodeCommand implements Callable<Integer> {

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "The node's YAML configuration.")
    Path config;

    @Option(names = "--check", description = "Validate the configuration and exit (0 if valid, 2 if not).")
    boolean check;

    @Mixin
    LoggingOptions logging;

    @Override
    public Integer call() throws Exception {
        NodeSettings settings;
        try {
            settings = ConfigLoader.load(config);
        } catch (ConfigException e) {
            System.err.println("flashvisor: invalid configuration " + e.getMessage());
            return Main.EXIT_USAGE;
        }
        if (check) {
            System.out.println(config + ": valid (" + settings.listeners().size() + " listeners, "
                    + settings.volumes().size() + " volumes)");
            return 0;
        }
        return NodeRunner.run(settings, "", System.out, node -> { });
    }
}
