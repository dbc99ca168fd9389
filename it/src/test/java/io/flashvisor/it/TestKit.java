package io.flashvisor.it;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The integration tests' resources: a scratch directory and every process a test starts.
 *
 * <p>Register it as a field ({@code @RegisterExtension final TestKit kit = new TestKit();}) to get
 * fresh resources per test, or as a static field to share them across a class. Whatever happens
 * (failure, timeout, interrupt), every process is stopped afterwards — SIGTERM, then SIGKILL — and
 * if the test failed, the output of each process is printed to the test output. A JVM shutdown
 * hook kills what is left if the test JVM itself is stopped.
 *
 * <p>Unix socket paths are limited to 107 bytes, so the scratch directory lives under
 * {@code /tmp} rather than under {@code target/}.
 */
public final class TestKit implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {

    /** Everything still running, in every kit: killed by the shutdown hook. */
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(p -> p.descendants().forEach(ProcessHandle::destroyForcibly)), "it-kill-children"));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "it-kill"));
    }

    /** A process the kit owns: how to stop it and what to show when a test fails. */
    interface Owned {
        String label();

        Process process();

        /** Its output so far, for the failure report. */
        String output();

        /** Called before the kit stops it: it is going away on purpose. */
        default void stopping() {
        }
    }

    private final List<Owned> owned = Collections.synchronizedList(new ArrayList<>());
    private Path dir;
    private boolean classScoped;
    private boolean keepDir;

    static void track(Process p) {
        LIVE.add(p);
        p.onExit().thenRun(() -> LIVE.remove(p));
    }

    /** The scratch directory (short path under /tmp, removed afterwards unless a test failed). */
    public Path dir() {
        if (dir == null) {
            try {
                dir = Files.createTempDirectory(Path.of("/tmp"), "fv-it-");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return dir;
    }

    public Path file(String name) {
        return dir().resolve(name);
    }

    void own(Owned o) {
        owned.add(o);
    }

    /** Starts {@code flashvisor ARGS...} (after the subcommand) and owns it. */
    public FlashvisorProcess flashvisor(String label, String... args) {
        return flashvisorWithJvmOptions(label, List.of(), args);
    }

    /** {@link #flashvisor} with extra JVM options (e.g. {@code -Dflashvisor.failpoints=...} for a negative control). */
    public FlashvisorProcess flashvisorWithJvmOptions(String label, List<String> jvmOptions, String... args) {
        FlashvisorProcess p = FlashvisorProcess.start(this, label, jvmOptions, List.of(args));
        own(p);
        return p;
    }

    /** {@code flashvisor serve ARGS...}; waits for its ready line. */
    public FlashvisorProcess serve(String... args) {
        List<String> all = new ArrayList<>();
        all.add("serve");
        all.addAll(List.of(args));
        FlashvisorProcess p = flashvisor("flashvisor serve", all.toArray(String[]::new));
        p.awaitReady(1);
        return p;
    }

    /** {@code flashvisor node --config FILE} with this YAML; waits for {@code listeners} ready lines. */
    public FlashvisorProcess node(String yaml, int listeners) {
        return node(yaml, listeners, List.of());
    }

    /** {@link #node(String, int)} with extra JVM options. */
    public FlashvisorProcess node(String yaml, int listeners, List<String> jvmOptions) {
        Path config = file("node-" + owned.size() + ".yaml");
        try {
            Files.writeString(config, yaml);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        FlashvisorProcess p = flashvisorWithJvmOptions("flashvisor node", jvmOptions, "node", "--config", config.toString());
        p.awaitReady(listeners);
        return p;
    }

    /** Starts nbdkit on a Unix socket in the scratch directory: {@code nbdkit [FILTERS...] PLUGIN ARGS...}. */
    public Nbdkit nbdkit(String... pluginAndArgs) {
        Nbdkit n = Nbdkit.start(this, List.of(pluginAndArgs), false);
        own(n);
        return n;
    }

    /**
     * A slow SAN: {@code nbdkit --filter=delay file IMAGE DELAYS...} (e.g. {@code wdelay=2ms}),
     * supervised — started again if it dies on its own (see {@link Nbdkit}).
     */
    public Nbdkit slowSan(Path image, String... delays) {
        List<String> args = new ArrayList<>(List.of("--filter=delay", "file", image.toString()));
        args.addAll(List.of(delays));
        Nbdkit n = Nbdkit.start(this, args, true);
        own(n);
        return n;
    }

    /** Starts a long-running external program; it is stopped after the test. */
    public Tools.Background background(String label, List<String> command) {
        Tools.Background b = Tools.background(this, label, command);
        own(b);
        return b;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        classScoped = true;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (context.getExecutionException().isPresent()) {
            report(context.getDisplayName());
        }
        if (!classScoped) {
            cleanUp();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (context.getExecutionException().isPresent()) {
            report(context.getDisplayName());
        }
        cleanUp();
    }

    private void report(String test) {
        keepDir = true;
        StringBuilder sb = new StringBuilder();
        sb.append("\n======== ").append(test).append(" failed; scratch directory ").append(dir).append(" is kept ========\n");
        synchronized (owned) {
            for (Owned o : owned) {
                sb.append("-------- ").append(o.label()).append(" (pid ").append(o.process().pid()).append(", ")
                        .append(o.process().isAlive() ? "running" : "exit code " + o.process().exitValue()).append(") --------\n");
                sb.append(o.output());
                if (sb.charAt(sb.length() - 1) != '\n') {
                    sb.append('\n');
                }
            }
        }
        sb.append("======== end of process output ========\n");
        System.out.print(sb);
        System.out.flush();
    }

    private void cleanUp() {
        List<Owned> all;
        synchronized (owned) {
            all = new ArrayList<>(owned);
            owned.clear();
        }
        for (Owned o : all) {
            o.stopping();
            o.process().descendants().forEach(ProcessHandle::destroy);
            o.process().destroy();
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        for (Owned o : all) {
            try {
                long left = Math.max(1, deadline - System.nanoTime());
                if (!o.process().waitFor(left, java.util.concurrent.TimeUnit.NANOSECONDS)) {
                    o.process().descendants().forEach(ProcessHandle::destroyForcibly);
                    o.process().destroyForcibly().waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                o.process().destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        if (dir != null && !keepDir) {
            deleteTree(dir);
            dir = null;
        }
    }

    static void deleteTree(Path root) {
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("could not delete " + root + ": " + e);
        }
    }
}
