package io.flashvisor.it;

import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Runs external programs (the real NBD clients) with a timeout and captures their output.
 *
 * <p>A missing program fails the test with the Debian package that provides it; nothing is
 * skipped silently. {@code nbdsh} runs with {@code /usr/bin} first on PATH, because it needs the
 * distribution's python3 (with the libnbd module), not a pyenv one.
 */
public final class Tools {
    private Tools() {
    }

    public static final ObjectMapper JSON = new ObjectMapper();

    /** Program → Debian package. */
    private static final Map<String, String> PACKAGES = Map.of(
            "nbdinfo", "libnbd-bin",
            "nbdcopy", "libnbd-bin",
            "nbdsh", "python3-libnbd",
            "qemu-img", "qemu-utils",
            "qemu-io", "qemu-utils",
            "fio", "fio",
            "nbdkit", "nbdkit",
            "openssl", "openssl");

    private static final Map<String, Path> FOUND = new ConcurrentHashMap<>();

    /** The program's path on PATH (with /usr/bin first), or a test failure naming the package to install. */
    public static Path require(String program) {
        return FOUND.computeIfAbsent(program, p -> {
            List<String> dirs = new ArrayList<>();
            dirs.add("/usr/bin");
            String path = System.getenv("PATH");
            if (path != null) {
                dirs.addAll(List.of(path.split(File.pathSeparator)));
            }
            for (String d : dirs) {
                Path candidate = Path.of(d, p);
                if (Files.isExecutable(candidate)) {
                    if (p.equals("nbdsh")) {
                        requireLibnbdPython();
                    }
                    return candidate;
                }
            }
            String pkg = PACKAGES.getOrDefault(p, "the package that provides " + p);
            return fail("'" + p + "' is not installed; the integration tests need it: apt-get install " + pkg
                    + " (or run bin/test, which installs all of: fio nbdkit libnbd-bin python3-libnbd qemu-utils openssl)");
        });
    }

    private static void requireLibnbdPython() {
        try {
            Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import nbd").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                fail("/usr/bin/python3 cannot 'import nbd': apt-get install python3-libnbd");
            }
        } catch (IOException e) {
            fail("nbdsh needs /usr/bin/python3 with the libnbd module: apt-get install python3-libnbd (" + e + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** What a finished program did. */
    public record Result(List<String> command, int exitCode, String stdout, String stderr, Duration took) {

        /** Asserts exit code 0; the failure message shows the command and its output. */
        public Result ok() {
            return exit(0);
        }

        public Result exit(int expected) {
            if (exitCode != expected) {
                fail("expected exit code " + expected + " but got " + exitCode + "\n" + this);
            }
            return this;
        }

        public Result failed() {
            if (exitCode == 0) {
                fail("expected a non-zero exit code\n" + this);
            }
            return this;
        }

        public JsonNode json() {
            String s = stdout;
            int brace = s.indexOf('{');
            if (brace < 0) {
                return fail("no JSON on stdout\n" + this);
            }
            try {
                return JSON.readTree(s.substring(brace));
            } catch (IOException e) {
                return fail("stdout is not JSON: " + e.getMessage() + "\n" + this);
            }
        }

        public String output() {
            return stdout + stderr;
        }

        @Override
        public String toString() {
            return "$ " + quote(command) + "\n(exit " + exitCode + " after " + took.toMillis() + " ms)\n--- stdout ---\n"
                    + tail(stdout) + "--- stderr ---\n" + tail(stderr);
        }
    }

    public static Result run(Duration timeout, String... command) {
        return run(timeout, List.of(command), null);
    }

    public static Result run(Duration timeout, List<String> command) {
        return run(timeout, command, null);
    }

    /** Runs {@code command} to completion; fails the test (after killing it) if it takes longer than {@code timeout}. */
    public static Result run(Duration timeout, List<String> command, Map<String, String> env) {
        List<String> cmd = new ArrayList<>(command);
        cmd.set(0, require(cmd.get(0)).toString());
        try {
            Path out = Files.createTempFile("fv-it-out", ".log");
            Path err = Files.createTempFile("fv-it-err", ".log");
            try {
                ProcessBuilder pb = builder(cmd, env).redirectOutput(out.toFile()).redirectError(err.toFile());
                long t0 = System.nanoTime();
                Process p = pb.start();
                TestKit.track(p);
                p.getOutputStream().close();
                boolean done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
                if (!done) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
                Duration took = Duration.ofNanos(System.nanoTime() - t0);
                Result r = new Result(cmd, done ? p.exitValue() : -1, readTail(out, MAX_CAPTURE), readTail(err, MAX_CAPTURE), took);
                if (!done) {
                    fail("timed out after " + timeout + " (killed)\n" + r);
                }
                return r;
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static ProcessBuilder builder(List<String> cmd, Map<String, String> env) {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> e = pb.environment();
        if (cmd.get(0).endsWith("nbdsh")) {
            e.put("PATH", "/usr/bin:" + e.getOrDefault("PATH", "/bin"));
            e.remove("PYTHONHOME");
            e.remove("PYTHONPATH");
        }
        if (env != null) {
            e.putAll(env);
        }
        return pb;
    }

    /** A program that runs in the background until it ends or the test ends. */
    public static final class Background implements TestKit.Owned {
        private final String label;
        private final Process process;
        private final Path out;
        private final List<String> command;

        Background(String label, Process process, Path out, List<String> command) {
            this.label = label;
            this.process = process;
            this.out = out;
            this.command = command;
        }

        @Override
        public String label() {
            return label;
        }

        @Override
        public Process process() {
            return process;
        }

        /** Waits for the end; fails (after killing it) if it takes longer than {@code timeout}. */
        public Result await(Duration timeout) {
            try {
                long t0 = System.nanoTime();
                boolean done = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
                if (!done) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly); // fio forks a process per job
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
                Result r = new Result(command, done ? process.exitValue() : -1, read(), "", Duration.ofNanos(System.nanoTime() - t0));
                if (!done) {
                    fail(label + " timed out after " + timeout + " (killed)\n" + r);
                }
                return r;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        public boolean isAlive() {
            return process.isAlive();
        }

        private String read() {
            try {
                return readTail(out, MAX_CAPTURE);
            } catch (IOException e) {
                return "(cannot read " + out + ")";
            }
        }

        @Override
        public String output() {
            return "command: " + quote(command) + "\n" + tail(read());
        }
    }

    static Background background(TestKit kit, String label, List<String> command) {
        List<String> cmd = new ArrayList<>(command);
        cmd.set(0, require(cmd.get(0)).toString());
        Path out = kit.file("bg-" + System.nanoTime() + ".log");
        try {
            Process p = builder(cmd, null).directory(kit.dir().toFile()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            TestKit.track(p);
            p.getOutputStream().close();
            return new Background(label, p, out, cmd);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + cmd, e);
        }
    }

    /** At most this much of a program's output is kept (a runaway program can write gigabytes). */
    static final int MAX_CAPTURE = 8 << 20;

    /** The last {@code max} bytes of a file, as text (the whole file if smaller). */
    public static String readTail(Path file, int max) throws IOException {
        if (!Files.exists(file)) {
            return "";
        }
        try (var ch = java.nio.channels.FileChannel.open(file)) {
            long size = ch.size();
            long from = Math.max(0, size - max);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) (size - from));
            while (b.hasRemaining() && ch.read(b, from + b.position()) > 0) {
                // reading
            }
            String s = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
            return from == 0 ? s : "[... " + from + " bytes cut ...]\n" + s;
        }
    }

    /** The last 20 000 characters (test reports stay readable). */
    public static String tail(String s) {
        int max = 20_000;
        String t = s.length() <= max ? s : "[... " + (s.length() - max) + " characters cut ...]\n" + s.substring(s.length() - max);
        return t.isEmpty() || t.endsWith("\n") ? t : t + "\n";
    }

    static String quote(List<String> command) {
        StringBuilder sb = new StringBuilder();
        for (String a : command) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            if (a.matches("[A-Za-z0-9_./:=,+@%-]+")) {
                sb.append(a);
            } else {
                sb.append('\'').append(a.replace("'", "'\\''")).append('\'');
            }
        }
        return sb.toString();
    }

    // ---- shortcuts for the clients the tests use ----

    public static final Duration SHORT = Duration.ofSeconds(60);

    public static JsonNode nbdinfoJson(String uri) {
        return run(SHORT, "nbdinfo", "--json", uri).ok().json();
    }

    public static JsonNode nbdinfoList(String uri) {
        return run(SHORT, "nbdinfo", "--list", "--json", uri).ok().json();
    }

    /** {@code qemu-io -f raw -c C1 -c C2 ... URI}. */
    public static Result qemuIo(String uri, String... commands) {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (String c : commands) {
            cmd.add("-c");
            cmd.add(c);
        }
        cmd.add(uri);
        return run(SHORT, cmd);
    }

    /**
     * {@code nbdsh -n -c SCRIPT} with the given environment (the script reads its URIs from it). The
     * script fails the test by raising (non-zero exit).
     */
    public static Result nbdsh(String script, Map<String, String> env) {
        return run(SHORT, List.of("nbdsh", "-n", "-c", script), env);
    }

    /** A reproducible pseudo-random file of {@code size} bytes. */
    public static void randomFile(Path file, long size, long seed) throws IOException {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        byte[] buf = new byte[1 << 20];
        try (var out = Files.newOutputStream(file)) {
            for (long done = 0; done < size; ) {
                int n = (int) Math.min(buf.length, size - done);
                for (int i = 0; i < n; i += 8) {
                    long v = rnd.nextLong();
                    for (int j = 0; j < 8 && i + j < n; j++) {
                        buf[i + j] = (byte) (v >>> (8 * j));
                    }
                }
                out.write(buf, 0, n);
                done += n;
            }
        }
    }

    /** A file of {@code size} bytes all equal to {@code value} (fully allocated). */
    public static void filledFile(Path file, long size, int value) throws IOException {
        byte[] buf = new byte[1 << 20];
        java.util.Arrays.fill(buf, (byte) value);
        try (var out = Files.newOutputStream(file)) {
            for (long done = 0; done < size; ) {
                int n = (int) Math.min(buf.length, size - done);
                out.write(buf, 0, n);
                done += n;
            }
        }
    }

    /** A sparse file of {@code size} zero bytes. */
    public static void sparseFile(Path file, long size) throws IOException {
        try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(size);
        }
    }

    public static byte[] readRange(Path file, long offset, int length) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(file)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(length);
            while (b.hasRemaining()) {
                if (ch.read(b, offset + b.position()) < 0) {
                    break;
                }
            }
            return b.array();
        }
    }
}
