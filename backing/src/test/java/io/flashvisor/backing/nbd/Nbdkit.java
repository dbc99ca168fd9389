package io.flashvisor.backing.nbd;

import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A real {@code nbdkit} on a Unix socket, for tests; killed on close (and when the JVM exits). */
final class Nbdkit implements AutoCloseable {
    private final Process process;
    private final Path socket;
    private final Path log;

    private Nbdkit(Process process, Path socket, Path log) {
        this.process = process;
        this.socket = socket;
        this.log = log;
    }

    /** Starts {@code nbdkit [args...]} (plugin, filters, parameters) and waits for its socket; skips the test if nbdkit is missing. */
    static Nbdkit start(Path dir, String... args) throws IOException, InterruptedException {
        return startOn(dir.resolve("nbd-" + System.nanoTime() + ".sock"), dir, args);
    }

    /** Like {@link #start}, on the given socket path (a server started again where the last one was). */
    static Nbdkit startOn(Path socket, Path dir, String... args) throws IOException, InterruptedException {
        assumeThat(Files.isExecutable(Path.of("/usr/sbin/nbdkit")) || Files.isExecutable(Path.of("/usr/bin/nbdkit")))
                .as("nbdkit is installed").isTrue();
        Files.deleteIfExists(socket); // a killed nbdkit leaves it behind
        Path log = dir.resolve("nbdkit-" + System.nanoTime() + ".log");
        // nbdkit writes its pid file once the socket is listening; the socket file alone appears at bind().
        Path pidFile = dir.resolve("nbdkit-" + System.nanoTime() + ".pid");
        List<String> cmd = new ArrayList<>(List.of("nbdkit", "--foreground", "--exit-with-parent", "--unix", socket.toString(),
                "--pidfile", pidFile.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!Files.exists(pidFile) || Files.size(pidFile) == 0) {
            if (!p.isAlive()) {
                throw new IOException("nbdkit exited: " + Files.readString(log));
            }
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IOException("nbdkit did not create its socket: " + Files.readString(log));
            }
            Thread.sleep(10);
        }
        return new Nbdkit(p, socket, log);
    }

    /** SIGKILL, and waits until it is gone: its connections break mid-request. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
    }

    Path socket() {
        return socket;
    }

    NbdUri uri() {
        return NbdUri.unix(socket, "");
    }

    NbdClient connect() throws IOException {
        return NbdClient.connect(uri(), Duration.ofSeconds(10), Duration.ofSeconds(30));
    }

    String log() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
