package io.flashvisor.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code flashvisor} command: a thin shell over the node; no domain logic lives here. */
@Command(name = "flashvisor",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Host-side flash acceleration for virtual-machine disks, served over NBD.",
            "",
            "Run 'flashvisor COMMAND --help' for the options of a command."
        },
        subcommands = {NodeCommand.class, ServeCommand.class, StatusCommand.class, MetricsCommand.class, PolicyCommand.class, TakeoverCommand.class, HostsCommand.class, VolumesCommand.class, DemoCommand.class, SimCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    /** Exit codes: 0 success, 1 the node failed while running, 2 bad command line or configuration. */
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        return new CommandLine(new Main())
                .setUsageHelpAutoWidth(true)
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    cmd.getErr().println("flashvisor: " + e.getMessage());
                    return EXIT_FAILURE;
                });
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }
}
