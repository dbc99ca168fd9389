package io.flashvisor.it;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * nbdkit (a reference NBD server, used as a SAN stand-in) on a Unix socket:
 * {@code nbdkit --foreground --exit-with-parent --unix SOCK --pidfile PID [FILTERS] PLUGIN ARGS}.
 * nbdkit writes the pid file once it accepts connections, which is how {@link #start} knows it is ready.
 */
public final class Nbdkit implements TestKit.Owned {
    private final Process process;
    private final Path socket;
    private final Path log;
    private final List<String> command;

    private Nbdkit(Process process, Path socket, Path log, List<String> command) {
        this.process = process;
        this.socket = socket;
        this.log = log;
        this.command = command;
    }

    static Nbdkit start(TestKit kit, List<String> pluginAndArgs) {
        long n = System.nanoTime() % 1_000_000;
        Path socket = kit.file("nbdkit-" + n + ".sock");
        Path pid = kit.file("nbdkit-" + n + ".pid");
        Path log = kit.file("nbdkit-" + n + ".log");
        List<String> cmd = new ArrayList<>(List.of(Tools.require("nbdkit").toString(), "--foreground", "--exit-with-parent",
                "--unix", socket.toString(), "--pidfile", pid.toString()));
        cmd.addAll(pluginAndArgs);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            TestKit.track(p);
            p.getOutputStream().close();
            Nbdkit nbdkit = new Nbdkit(p, socket, log, cmd);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!(Files.exists(pid) && Files.size(pid) > 0)) {
                if (!p.isAlive()) {
                    fail("nbdkit exited with " + p.exitValue() + " before it was ready\n" + nbdkit.output());
                }
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    fail("nbdkit not ready after 30 s\n" + nbdkit.output());
                }
                Thread.sleep(20);
            }
            return nbdkit;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public Path socket() {
        return socket;
    }

    /** {@code nbd+unix:///EXPORT?socket=SOCK} (nbdkit serves any export name unless told otherwise). */
    public String uri(String export) {
        return "nbd+unix:///" + export + "?socket=" + socket;
    }

    public String uri() {
        return uri("");
    }

    public void stop() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String label() {
        return "nbdkit";
    }

    @Override
    public Process process() {
        return process;
    }

    @Override
    public String output() {
        try {
            return "command: " + Tools.quote(command) + "\n" + Tools.tail(Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "");
        } catch (IOException e) {
            return "(cannot read " + log + ")";
        }
    }
}
