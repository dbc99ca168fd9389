package io.flashvisor.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A server under test, started as a separate process; stopped with SIGTERM (then SIGKILL). */
final class ServerProcess implements AutoCloseable {
    final String name;
    final String uri;
    private final Process process;
    private final Path log;

    private ServerProcess(String name, String uri, Process process, Path log) {
        this.name = name;
        this.uri = uri;
        this.process = process;
        this.log = log;
    }

    /** nbdkit on a Unix socket; ready when it has written its pid file. */
    static ServerProcess nbdkit(List<String> pluginAndArgs, Path socket, Path dir) throws IOException, InterruptedException {
        Path pid = dir.resolve("nbdkit.pid");
        Path log = dir.resolve("nbdkit.log");
        Files.deleteIfExists(pid);
        Files.deleteIfExists(socket);
        List<String> cmd = new java.util.ArrayList<>(List.of("nbdkit", "--foreground", "--exit-with-parent", "--unix", socket.toString(),
                "--pidfile", pid.toString()));
        cmd.addAll(pluginAndArgs);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!(Files.exists(pid) && Files.size(pid) > 0)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IOException("nbdkit did not start: " + String.join(" ", cmd) + "\n" + Files.readString(log));
            }
            Thread.sleep(20);
        }
        return new ServerProcess("nbdkit", "nbd+unix:///?socket=" + socket, p, log);
    }

    /** {@code java -jar flashvisor.jar serve ...}; ready when it prints its {@code ready URI} line. */
    static ServerProcess flashvisor(Path javaBin, Path jar, List<String> javaOptions, List<String> serveArgs, Path dir)
            throws IOException, InterruptedException {
        Path log = dir.resolve("flashvisor.log");
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(javaBin.toString());
        cmd.addAll(javaOptions);
        cmd.add("-jar");
        cmd.add(jar.toString());
        cmd.add("serve");
        cmd.addAll(serveArgs);
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        p.getOutputStream().close();
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
        CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith("ready ")) {
                        String uri = line.substring(6).trim();
                        Thread drain = new Thread(() -> {
                            try {
                                r.transferTo(Writer.nullWriter());
                            } catch (IOException ignored) {
                                // the process ended
                            }
                        }, "flashvisor-stdout");
                        drain.setDaemon(true);
                        drain.start();
                        return uri;
                    }
                }
                return null;
            } catch (IOException e) {
                return null;
            }
        });
        String uri;
        try {
            uri = ready.get(120, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            uri = null;
        }
        if (uri == null) {
            p.destroyForcibly();
            throw new IOException("flashvisor did not get ready: " + String.join(" ", cmd) + "\n" + Files.readString(log));
        }
        return new ServerProcess("flashvisor", uri, p, log);
    }

    boolean isAlive() {
        return process.isAlive();
    }

    int exitCode() {
        return process.isAlive() ? -1 : process.exitValue();
    }

    String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(45, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
