package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.flashvisor.cluster.EmbeddedZooKeeper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * A Flashvisor cluster on loopback for the multi-host integration tests: ZooKeeper runs in the test
 * JVM ({@link EmbeddedZooKeeper}), so it survives every kill of a node; every host is a real
 * {@code flashvisor node} process with its own flash device, NBD socket and control socket, all in
 * the kit's scratch directory, joined with a shared secret and a 2 s session timeout.
 *
 * <p>Register it as an extension <em>before</em> the {@link TestKit} (lower {@code @Order}), so that
 * its {@code afterEach} — stopping ZooKeeper — runs after the kit has stopped the nodes (a node
 * stopping gracefully still talks to ZooKeeper):
 *
 * <pre>{@code
 * @RegisterExtension @Order(2) final TestKit kit = new TestKit();
 * @RegisterExtension @Order(1) final LoopbackCluster cluster = new LoopbackCluster(kit);
 * }</pre>
 */
final class LoopbackCluster implements AfterEachCallback {
    static final String SESSION_TIMEOUT = "2s";

    private final TestKit kit;
    private EmbeddedZooKeeper zk;
    private Path zkDir;
    private Path secret;

    LoopbackCluster(TestKit kit) {
        this.kit = kit;
    }

    /** ZooKeeper's connect string; starts the server on first use. */
    String zookeeper() {
        if (zk == null) {
            // The cli jar's logback.xml (on the test class path) would log every ZooKeeper server event at INFO.
            if (LoggerFactory.getLogger("org.apache.zookeeper") instanceof ch.qos.logback.classic.Logger l) {
                l.setLevel(ch.qos.logback.classic.Level.WARN);
            }
            try {
                zkDir = Files.createTempDirectory(Path.of("/tmp"), "fv-it-zk-");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            zk = EmbeddedZooKeeper.start(zkDir);
        }
        return zk.connectString();
    }

    private Path secret() throws IOException {
        if (secret == null) {
            secret = kit.file("cluster.secret");
            Files.writeString(secret, Base64.getEncoder().encodeToString("three-host loopback cluster test".getBytes(StandardCharsets.US_ASCII)) + "\n");
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        }
        return secret;
    }

    /**
     * A host (not started): {@code name} "a" is host id {@code hv-a}. Without volumes of its own, a
     * host serves a small pass-through scratch volume (a node needs at least one).
     */
    Host host(String name) {
        return new Host(name);
    }

    /** Starts these hosts at once (their JVMs start in parallel) and waits until each is ready. */
    void startAll(Host... hosts) {
        for (Host h : hosts) {
            h.launch();
        }
        for (Host h : hosts) {
            h.process.awaitReady(1);
        }
    }

    /** One {@code flashvisor node} process of the cluster, restartable with another config. */
    final class Host {
        final String name;
        final String hostId;
        final Control control;
        private final List<String> volumes = new ArrayList<>();
        private List<String> jvmOptions = List.of();
        private FlashvisorProcess process;
        private int starts;

        private Host(String name) {
            this.name = name;
            this.hostId = "hv-" + name;
            this.control = new Control(kit.file(name + "-ctl.sock"));
        }

        /** Adds a volume line of the YAML list, e.g. {@code {name: vm1, backing: ..., policy: write-back, replicas: 1}}. */
        Host volume(String yamlFlowMapping) {
            volumes.add(yamlFlowMapping);
            return this;
        }

        /** Extra JVM options of the node (a failpoint for a negative control). */
        Host jvmOptions(List<String> options) {
            this.jvmOptions = List.copyOf(options);
            return this;
        }

        String config() throws IOException {
            List<String> lines = new ArrayList<>(volumes);
            if (lines.isEmpty()) {
                Path scratch = kit.file(name + "-scratch.img");
                if (!Files.exists(scratch)) {
                    Tools.sparseFile(scratch, 16 << 20);
                }
                lines.add("{name: scratch-" + name + ", backing: " + scratch + "}");
            }
            StringBuilder v = new StringBuilder();
            for (String l : lines) {
                v.append("  - ").append(l).append('\n');
            }
            return """
                    listeners: [{unix: %1$s}]
                    control: %2$s
                    flash: {device: %3$s, size: 128M}
                    cluster:
                      name: it
                      host-id: %4$s
                      zookeeper: %5$s
                      session-timeout: %6$s
                      auto-takeover: true
                      peer-listen: 127.0.0.1:0
                      secret-file: %7$s
                    volumes:
                    %8$s""".formatted(kit.file(name + "-nbd.sock"), control.socket(), kit.file(name + "-flash.img"), hostId,
                    zookeeper(), SESSION_TIMEOUT, secret(), v);
        }

        private void launch() {
            if (process != null && process.isAlive()) {
                throw new IllegalStateException(hostId + " is running");
            }
            try {
                Path file = kit.file(name + "-node-" + starts++ + ".yaml");
                Files.writeString(file, config());
                process = kit.flashvisorWithJvmOptions("flashvisor node " + hostId, jvmOptions, "node", "--config", file.toString());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Starts the node and waits for its ready line. */
        Host start() {
            launch();
            process.awaitReady(1);
            return this;
        }

        FlashvisorProcess process() {
            return process;
        }

        /** The NBD URI of {@code export} on this host. */
        String uri(String export) {
            return FlashvisorProcess.withExport(process.uri(), export);
        }

        /** SIGTERM; asserts a clean exit (code 0). */
        void stop() {
            assertThat(process.stop(Duration.ofSeconds(40))).as(hostId + " exit code\n" + process.output()).isZero();
        }

        /** This host's view of the volume's cluster record ({@code volumes} on the control socket). */
        JsonNode record(String volume) {
            return control.record(volume);
        }

        /** Waits (polling the control socket) until the volume's record satisfies {@code done}; returns it. */
        JsonNode awaitRecord(String volume, Predicate<JsonNode> done, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            JsonNode r = record(volume);
            while (!done.test(r)) {
                if (System.nanoTime() > deadline) {
                    fail("volume record " + volume + " as seen by " + hostId + " did not reach the expected state within " + timeout
                            + "; last: " + r + "\n" + process.output());
                }
                Thread.sleep(50);
                r = record(volume);
            }
            return r;
        }

        /** Waits (polling the log) until {@link #takeoverLog} reports a takeover of {@code volume}; returns it. */
        TakeoverLog awaitTakeoverLog(String volume, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            TakeoverLog t;
            while ((t = takeoverLog(volume)) == null) {
                if (System.nanoTime() > deadline) {
                    fail(hostId + " reported no takeover of " + volume + " within " + timeout + "\n" + process.output());
                }
                Thread.sleep(50);
            }
            return t;
        }

        /**
         * This host's takeover of {@code volume} as its log reports it (Takeover: "took over volume V
         * from H at epoch E: N blocks destaged in S s; released: R"), or null if there is none.
         */
        TakeoverLog takeoverLog(String volume) {
            Matcher m = Pattern.compile("took over volume " + Pattern.quote(volume)
                            + " from (\\S+) at epoch (\\d+): (\\d+) blocks destaged in ([\\d.,]+) s; released: (true|false)")
                    .matcher(process.stderr());
            TakeoverLog last = null;
            while (m.find()) {
                last = new TakeoverLog(m.group(1), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)),
                        Double.parseDouble(m.group(4).replace(',', '.')), Boolean.parseBoolean(m.group(5)));
            }
            return last;
        }

        @Override
        public String toString() {
            return hostId;
        }
    }

    record TakeoverLog(String from, long epoch, long blocksDestaged, double seconds, boolean released) {
    }

    /** The record is given up clean: no owner, state CLEAN. */
    static boolean releasedClean(JsonNode record) {
        return record.get("owner").isNull() && record.get("state").asText().equals("CLEAN");
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (zk != null) {
            zk.close();
            zk = null;
            TestKit.deleteTree(zkDir);
        }
    }
}
