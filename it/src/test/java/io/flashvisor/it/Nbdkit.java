package io.flashvisor.it;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * nbdkit (a reference NBD server, used as a SAN stand-in) on a Unix socket:
 * {@code nbdkit --foreground --exit-with-parent --unix SOCK --pidfile PID [FILTERS] PLUGIN ARGS}.
 * nbdkit writes the pid file once it accepts connections, which is how {@link #start} knows it is ready.
 *
 * <p>A SAN whose data lives in a file can be <em>supervised</em>: if nbdkit dies on its own, it is
 * started again on the same socket, like a SAN controller failing over. This is for nbdkit 1.32
 * (Debian 12), which aborts ({@code raw_send_socket: Assertion `sock >= 0' failed}) when a client
 * disconnects while its delayed writes are still sleeping — exactly what a test does when it kills
 * a node in the middle of destaging. The nodes see the SAN refuse connections for a moment and
 * retry; each restart is printed and counted.
 */
public final class Nbdkit implements TestKit.Owned {
    private final Path socket;
    private final Path pid;
    private final Path log;
    private final List<String> command;
    private final boolean supervised;
    private final AtomicInteger restarts = new AtomicInteger();
    private volatile Process process;
    private volatile boolean stopping;

    private Nbdkit(Path socket, Path pid, Path log, List<String> command, boolean supervised) {
        this.socket = socket;
        this.pid = pid;
        this.log = log;
        this.command = command;
        this.supervised = supervised;
    }

    static Nbdkit start(TestKit kit, List<String> pluginAndArgs, boolean supervised) {
        long n = System.nanoTime() % 1_000_000;
        Path socket = kit.file("nbdkit-" + n + ".sock");
        List<String> cmd = new ArrayList<>(List.of(Tools.require("nbdkit").toString(), "--foreground", "--exit-with-parent",
                "--unix", socket.toString(), "--pidfile", kit.file("nbdkit-" + n + ".pid").toString()));
        cmd.addAll(pluginAndArgs);
        Nbdkit nbdkit = new Nbdkit(socket, kit.file("nbdkit-" + n + ".pid"), kit.file("nbdkit-" + n + ".log"), cmd, supervised);
        nbdkit.launch();
        return nbdkit;
    }

    private void launch() {
        try {
            Files.deleteIfExists(pid);
            Files.deleteIfExists(socket); // left behind by a crash: nbdkit would not bind over it
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
            TestKit.track(p);
            p.getOutputStream().close();
            process = p;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!(Files.exists(pid) && Files.size(pid) > 0)) {
                if (!p.isAlive()) {
                    fail("nbdkit exited with " + p.exitValue() + " before it was ready\n" + output());
                }
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    fail("nbdkit not ready after 30 s\n" + output());
                }
                Thread.sleep(20);
            }
            if (supervised) {
                p.onExit().thenRun(() -> restartAfter(p));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void restartAfter(Process died) {
        if (stopping || died != process) {
            return; // stopped on purpose, or already replaced (an outage)
        }
        String note = "[test kit] nbdkit (pid " + died.pid() + ") exited with " + died.exitValue() + " on its own; starting it again on "
                + socket + " (restart " + restarts.incrementAndGet() + ")\n";
        System.out.print(note);
        try {
            Files.writeString(log, note, StandardOpenOption.APPEND);
        } catch (IOException ignored) {
            // the note is on stdout too
        }
        launch();
    }

    /** A SAN outage begins: nbdkit is killed (SIGKILL, connections cut mid-request); clients get "connection refused" until {@link #up}. */
    public void down() throws InterruptedException {
        stopping = true;
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    /** The outage ends: nbdkit starts again on the same socket, with the same data. */
    public void up() {
        stopping = false;
        launch();
    }

    /** How many times a supervised nbdkit was started again after it died on its own. */
    public int restarts() {
        return restarts.get();
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

    @Override
    public void stopping() {
        stopping = true;
    }

    public void stop() {
        stopping();
        Process p = process;
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
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
