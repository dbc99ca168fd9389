package io.flashvisor.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code bin/bench}: benchmarks that run real servers side by side and print tables of ratios.
 * Benchmarks are not tests: nothing here asserts; targets are reported as met or not.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Flashvisor benchmarks. Run 'bench COMMAND --help' for the options of a command."},
        subcommands = {NbdServerBench.class, CacheBench.class, ReplicationBench.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).setUsageHelpAutoWidth(true).execute(args));
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }
}
