package io.flashvisor.cli.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A process the demo started: nbdkit, a {@code flashvisor node}, or fio. Its output goes to a log
 * file. It runs in its own session ({@code setsid}, when available), so a Ctrl-C in the terminal
 * reaches only the demo, which then stops its children in a safe order (fio first, then the nodes,
 * then the SAN) instead of all of them at once.
 */
final class Child implements AutoCloseable {
    private static final Path SETSID = findSetsid();

    final String name;
    final Process process;
    final Path log;
    private final CompletableFuture<String> ready = new CompletableFuture<>();

    private Child(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /**
     * Starts {@code command} with stdout and stderr going to {@code log}.
     */
    static Child start(String name, List<String> command, Path log, Path workDir) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(wrap(command)).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        Process p = pb.start();
        p.getOutputStream().close();
        return new Child(name, p, log);
    }

    /**
     * Starts a {@code flashvisor node}: stderr (its log) goes to {@code log}; stdout is read for the
     * {@code ready URI} line, see {@link #awaitReady}.
     */
    static Child startNode(String name, List<String> command, Path log, Path workDir) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(wrap(command)).directory(workDir.toFile()).redirectError(log.toFile());
        Process p = pb.start();
        p.getOutputStream().close();
        Child c = new Child(name, p, log);
        Thread reader = new Thread(() -> {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            try {
                String line;
                while ((line = r.readLine()) != null) {
                    if (!c.ready.isDone() && line.startsWith("ready ")) {
                        c.ready.complete(line.substring(6).trim());
                    }
                }
            } catch (IOException ignored) {
                // the process ended
            }
            c.ready.complete(null);
        }, name + "-stdout");
        reader.setDaemon(true);
        reader.start();
        return c;
    }

    /** The URI of the node's first {@code ready} line; fails (with the log's tail) if it exits or times out first. */
    String awaitReady(Duration timeout) throws IOException, InterruptedException {
        String uri;
        try {
            uri = ready.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            uri = null;
        }
        if (uri == null) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new IOException(name + " did not get ready (" + (process.isAlive() ? "timeout" : "exit code " + process.exitValue())
                    + "); the end of its log " + log + ":\n" + tail(log, 20));
        }
        return uri;
    }

    private static List<String> wrap(List<String> command) {
        if (SETSID == null) {
            return command;
        }
        List<String> c = new ArrayList<>();
        c.add(SETSID.toString());
        c.addAll(command);
        return c;
    }

    private static Path findSetsid() {
        for (String p : List.of("/usr/bin/setsid", "/bin/setsid")) {
            if (Files.isExecutable(Path.of(p))) {
                return Path.of(p);
            }
        }
        return null;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL, and waits until the process is gone. */
    void kill9() throws InterruptedException {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGTERM; SIGKILL after {@code grace}. Returns the exit code. */
    int stop(Duration grace) throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        return process.isAlive() ? -1 : process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        stop(Duration.ofSeconds(30));
    }

    String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e.getMessage() + ")";
        }
    }
}
