package io.flashvisor.it;

import static org.assertj.core.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code flashvisor} command as a real process: {@code $JAVA_HOME/bin/java -jar
 * <home>/cli/target/flashvisor.jar ARGS...}, where home is the system property
 * {@code flashvisor.home} (set by the it module's surefire configuration).
 *
 * <p>Stdout is read line by line (the {@code ready URI} lines); stderr goes to a file in the
 * scratch directory. Both are shown by {@link TestKit} when a test fails.
 */
public final class FlashvisorProcess implements TestKit.Owned {

    /** How long a server may take to print its ready lines (JVM start on a busy 2-core machine). */
    public static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private final String label;
    private final Process process;
    private final Path stderrFile;
    private final List<String> stdoutLines = new ArrayList<>();
    private final List<String> command;

    private FlashvisorProcess(String label, Process process, Path stderrFile, List<String> command) {
        this.label = label;
        this.process = process;
        this.stderrFile = stderrFile;
        this.command = command;
        Thread reader = new Thread(this::pumpStdout, "stdout-" + label + "-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    /** The flashvisor home (the repository root). */
    public static Path home() {
        String h = System.getProperty("flashvisor.home");
        Path p = h != null ? Path.of(h) : Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("cli"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find the flashvisor home (set -Dflashvisor.home=/path/to/repo)");
        }
        return p.normalize();
    }

    public static Path jar() {
        Path jar = home().resolve("cli/target/flashvisor.jar");
        if (!Files.isRegularFile(jar)) {
            fail(jar + " does not exist: build it first (mvn -DskipTests package, or run the it module from the root reactor: mvn verify)");
        }
        return jar;
    }

    public static List<String> javaCommand() {
        return javaCommand(List.of());
    }

    static List<String> javaCommand(List<String> jvmOptions) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String opts = System.getenv("FLASHVISOR_IT_JAVA_OPTS");
        if (opts != null && !opts.isBlank()) {
            cmd.addAll(List.of(opts.trim().split("\\s+")));
        }
        cmd.addAll(jvmOptions);
        cmd.add("-jar");
        cmd.add(jar().toString());
        return cmd;
    }

    static FlashvisorProcess start(TestKit kit, String label, List<String> jvmOptions, List<String> args) {
        List<String> cmd = javaCommand(jvmOptions);
        cmd.addAll(args);
        Path err = kit.file("stderr-" + System.nanoTime() + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE);
        pb.directory(kit.dir().toFile());
        try {
            Process p = pb.start();
            TestKit.track(p);
            p.getOutputStream().close();
            return new FlashvisorProcess(label, p, err, cmd);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + cmd, e);
        }
    }

    private void pumpStdout() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                synchronized (stdoutLines) {
                    stdoutLines.add(line);
                    stdoutLines.notifyAll();
                }
            }
        } catch (IOException e) {
            // the process is gone
        } finally {
            synchronized (stdoutLines) {
                stdoutLines.add(null); // end of stream
                stdoutLines.notifyAll();
            }
        }
    }

    /**
     * Waits for {@code count} lines {@code ready URI} on stdout and returns the URIs. Fails (with the
     * process's output) if it exits first or does not get ready in {@link #READY_TIMEOUT}.
     */
    public List<String> awaitReady(int count) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        synchronized (stdoutLines) {
            while (true) {
                List<String> uris = new ArrayList<>();
                boolean ended = false;
                for (String l : stdoutLines) {
                    if (l == null) {
                        ended = true;
                    } else if (l.startsWith("ready ")) {
                        uris.add(l.substring("ready ".length()).trim());
                    }
                }
                if (uris.size() >= count) {
                    return uris;
                }
                if (ended) {
                    waitQuietly(Duration.ofSeconds(5));
                    fail(label + " ended before printing " + count + " ready line(s); exit code "
                            + (process.isAlive() ? "(still running)" : process.exitValue()) + "\n" + output());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail(label + " printed no " + count + " ready line(s) within " + READY_TIMEOUT + "\n" + output());
                }
                try {
                    stdoutLines.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    /** The first ready URI. */
    public String uri() {
        return awaitReady(1).get(0);
    }

    public List<String> uris() {
        synchronized (stdoutLines) {
            return stdoutLines.stream().filter(l -> l != null && l.startsWith("ready ")).map(l -> l.substring(6).trim()).toList();
        }
    }

    /** The Unix socket of a {@code nbd+unix:///...?socket=PATH} ready URI. */
    public static Path socketOf(String uri) {
        int i = uri.indexOf("socket=");
        if (i < 0) {
            throw new IllegalArgumentException("not a Unix socket URI: " + uri);
        }
        String s = uri.substring(i + "socket=".length());
        int amp = s.indexOf('&');
        return Path.of(amp >= 0 ? s.substring(0, amp) : s);
    }

    /** The TCP port of a {@code nbd://HOST:PORT/...} or {@code nbds://...} ready URI. */
    public static int portOf(String uri) {
        java.net.URI u = java.net.URI.create(uri);
        return u.getPort();
    }

    /** The same server, another export: replaces the export part of a ready URI. */
    public static String withExport(String uri, String export) {
        java.net.URI u = java.net.URI.create(uri);
        String authority = u.getRawAuthority() == null ? "" : u.getRawAuthority();
        return u.getScheme() + "://" + authority + "/" + export + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    /** SIGTERM, then waits for the exit; fails if the process does not exit in {@code timeout} (it is then killed). */
    public int stop(Duration timeout) {
        process.destroy(); // SIGTERM
        return awaitExit(timeout);
    }

    /** Waits for the process to exit by itself; fails (and kills it) if it takes longer than {@code timeout}. */
    public int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                String out = output();
                kill9();
                fail(label + " did not exit within " + timeout + "\n" + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        waitForStdoutEnd();
        return process.exitValue();
    }

    /** SIGKILL (kill -9), and waits until it is gone. */
    public void kill9() {
        process.destroyForcibly();
        waitQuietly(Duration.ofSeconds(10));
    }

    private void waitQuietly(Duration d) {
        try {
            process.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void waitForStdoutEnd() {
        long deadline = System.nanoTime() + 5_000_000_000L;
        synchronized (stdoutLines) {
            while (!stdoutLines.contains(null) && System.nanoTime() < deadline) {
                try {
                    stdoutLines.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    public String stdout() {
        synchronized (stdoutLines) {
            StringBuilder sb = new StringBuilder();
            stdoutLines.stream().filter(l -> l != null).forEach(l -> sb.append(l).append('\n'));
            return sb.toString();
        }
    }

    public String stderr() {
        try {
            return Files.exists(stderrFile) ? Files.readString(stderrFile, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read " + stderrFile + ": " + e + ")";
        }
    }

    @Override
    public String label() {
        return label;
    }

    @Override
    public Process process() {
        return process;
    }

    @Override
    public String output() {
        return "command: " + String.join(" ", command) + "\n--- stdout ---\n" + Tools.tail(stdout()) + "--- stderr ---\n" + Tools.tail(stderr());
    }
}
