package io.flashvisor.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
        return nbdkit("nbdkit", pluginAndArgs, socket, dir, Map.of());
    }

    /** Like {@link #nbdkit(List, Path, Path)}, with its own pid and log file names and extra environment (e.g. TMPDIR). */
    static ServerProcess nbdkit(String name, List<String> pluginAndArgs, Path socket, Path dir, Map<String, String> env)
            throws IOException, InterruptedException {
        Path pid = dir.resolve(name + ".pid");
        Path log = dir.resolve(name + ".log");
        Files.deleteIfExists(pid);
        Files.deleteIfExists(socket);
        List<String> cmd = new java.util.ArrayList<>(List.of("nbdkit", "--foreground", "--exit-with-parent", "--unix", socket.toString(),
                "--pidfile", pid.toString()));
        cmd.addAll(pluginAndArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!(Files.exists(pid) && Files.size(pid) > 0)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IOException("nbdkit did not start: " + String.join(" ", cmd) + "\n" + Files.readString(log));
            }
            Thread.sleep(20);
        }
        return new ServerProcess(name, "nbd+unix:///?socket=" + socket, p, log);
    }

    /** {@code java -jar flashvisor.jar serve ...}; ready when it prints its {@code ready URI} line. */
    static ServerProcess flashvisor(Path javaBin, Path jar, List<String> javaOptions, List<String> serveArgs, Path dir)
            throws IOException, InterruptedException {
        return flashvisor("flashvisor", javaBin, jar, javaOptions, serveArgs, dir);
    }

    /** Like {@link #flashvisor(Path, Path, List, List, Path)}, logging to {@code NAME.log}. */
    static ServerProcess flashvisor(String name, Path javaBin, Path jar, List<String> javaOptions, List<String> serveArgs, Path dir)
            throws IOException, InterruptedException {
        List<String> args = new java.util.ArrayList<>();
        args.add("serve");
        args.addAll(serveArgs);
        return flashvisorCommand(name, javaBin, jar, javaOptions, args, dir);
    }

    /** {@code java -jar flashvisor.jar node --config CONFIG}, logging to {@code NAME.log}; ready at its first {@code ready URI} line. */
    static ServerProcess node(String name, Path javaBin, Path jar, List<String> javaOptions, Path config, Path dir)
            throws IOException, InterruptedException {
        return flashvisorCommand(name, javaBin, jar, javaOptions, List.of("node", "--config", config.toString()), dir);
    }

    private static ServerProcess flashvisorCommand(String name, Path javaBin, Path jar, List<String> javaOptions, List<String> args, Path dir)
            throws IOException, InterruptedException {
        Path log = dir.resolve(name + ".log");
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(javaBin.toString());
        cmd.addAll(javaOptions);
        cmd.add("-jar");
        cmd.add(jar.toString());
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        p.getOutputStream().close();
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
        // One thread reads stdout up to the 'ready' line, then keeps draining it (without closing the reader:
        // closing it while another thread reads blocks on the reader's lock).
        CompletableFuture<String> ready = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            try {
                String line;
                while ((line = r.readLine()) != null) {
                    if (!ready.isDone() && line.startsWith("ready ")) {
                        ready.complete(line.substring(6).trim());
                    }
                }
            } catch (IOException ignored) {
                // the process ended
            }
            ready.complete(null);
        }, name + "-stdout");
        reader.setDaemon(true);
        reader.start();
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
        return new ServerProcess(name, uri, p, log);
    }

    long pid() {
        return process.pid();
    }

    /** SIGKILL (by pid) and waits until the process is gone. */
    void kill9() throws InterruptedException {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** CPU time (user + system) the process has used so far. */
    Duration cpu() {
        return process.toHandle().info().totalCpuDuration().orElse(Duration.ZERO);
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
