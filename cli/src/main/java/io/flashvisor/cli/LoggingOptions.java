package io.flashvisor.cli;

import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * Log options shared by the long-running commands. They set system properties that
 * {@code logback.xml} reads, so they take effect only because nothing logs before the command
 * line has been parsed.
 */
final class LoggingOptions {
    enum Format { text, json }

    @Option(names = "--log-format", paramLabel = "text|json", description = "Log lines as text (default) or one JSON object per line, on stderr.")
    void format(Format format) {
        System.setProperty("flashvisor.log.format", format.name().toUpperCase(Locale.ROOT));
    }

    @Option(names = "--log-level", paramLabel = "LEVEL", description = "ERROR, WARN, INFO (default), DEBUG or TRACE.")
    void level(String level) {
        System.setProperty("flashvisor.log.level", level.toUpperCase(Locale.ROOT));
    }
}
