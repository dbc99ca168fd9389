package io.flashvisor.it;

import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A node's control socket ({@code serve --control PATH} or {@code control: PATH}), spoken to
 * directly: one line in, one JSON document out. Much cheaper than starting {@code flashvisor status}
 * (a JVM) when a test samples the status often; the CLI commands are exercised separately.
 */
public final class Control {
    private final Path socket;

    public Control(Path socket) {
        this.socket = socket;
    }

    public Path socket() {
        return socket;
    }

    /** Sends {@code line}, returns the reply; fails the test on an {@code error} reply. */
    public JsonNode call(String line) {
        JsonNode r = callRaw(line);
        if (r.has("error")) {
            fail("control '" + line + "' answered an error: " + r.get("error").asText());
        }
        return r;
    }

    public JsonNode callRaw(String line) {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            OutputStream out = Channels.newOutputStream(ch);
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            ch.shutdownOutput();
            InputStream in = Channels.newInputStream(ch);
            String reply = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return Tools.JSON.readTree(reply);
        } catch (IOException e) {
            return fail("control socket " + socket + ", '" + line + "': " + e);
        }
    }

    public JsonNode status() {
        return call("status");
    }

    /** This host's view of a volume's cluster record ({@code volumes}). */
    public JsonNode record(String volume) {
        for (JsonNode v : call("volumes").get("volumes")) {
            if (v.get("name").asText().equals(volume)) {
                return v;
            }
        }
        return fail("no volume record " + volume + " seen through " + socket);
    }

    /** The status of one volume ({@code VolumeStatus} as JSON). */
    public JsonNode volume(String name) {
        for (JsonNode v : status().path("volumes")) {
            if (v.path("name").asText().equals(name)) {
                return v;
            }
        }
        return fail("no volume '" + name + "' in the status: " + status());
    }

    /** {@code drain VOLUME SECONDS}: the reply {@code {"clean": bool, "volume": {...}}}. */
    public JsonNode drain(String volume, Duration timeout) {
        return call("drain " + volume + " " + timeout.toSeconds());
    }

    /** One-line summary of a volume's status, for assertion messages and the test log. */
    public static String summary(JsonNode v) {
        return v.path("name").asText() + ": policy=" + v.path("policy").asText() + " health=" + v.path("health").asText()
                + " dirty=" + v.path("dirtyBytes").asLong() + " destaged=" + v.path("destagedBytes").asLong() + " cached="
                + v.path("cachedBytes").asLong() + " hits=" + v.path("hits").asLong() + " misses=" + v.path("misses").asLong()
                + (v.hasNonNull("destageError") ? " destageError=" + v.get("destageError").asText() : "");
    }

    /**
     * Samples a volume's status in the background (every {@code period}) until closed, and keeps
     * what the test asks about afterwards: every health seen, every destage error seen, the largest
     * dirty byte count. Sampling can miss a short state: assert on what it saw only where the state
     * lasts (or where missing it would only make the assertion weaker, never wrong).
     */
    public Sampler sample(String volume, Duration period) {
        return new Sampler(volume, period);
    }

    public final class Sampler implements AutoCloseable {
        private final String volume;
        private final Thread thread;
        private final Set<String> healths = Collections.synchronizedSet(new LinkedHashSet<>());
        private final Set<String> errors = Collections.synchronizedSet(new LinkedHashSet<>());
        private final List<String> transitions = Collections.synchronizedList(new ArrayList<>());
        private volatile long maxDirty;
        private volatile long samples;
        private volatile boolean running = true;
        private volatile JsonNode last;

        private Sampler(String volume, Duration period) {
            this.volume = volume;
            this.thread = new Thread(() -> {
                String previous = null;
                while (running) {
                    try {
                        JsonNode v = null;
                        for (JsonNode x : callRaw("status").path("volumes")) {
                            if (x.path("name").asText().equals(volume)) {
                                v = x;
                            }
                        }
                        if (v != null) {
                            last = v;
                            samples++;
                            String h = v.path("health").asText() + "/" + v.path("policy").asText();
                            healths.add(v.path("health").asText());
                            if (!h.equals(previous)) {
                                transitions.add(h + " (dirty " + v.path("dirtyBytes").asLong() + ")");
                                previous = h;
                            }
                            if (v.hasNonNull("destageError") && errors.size() < 3) {
                                errors.add(v.get("destageError").asText());
                            }
                            maxDirty = Math.max(maxDirty, v.path("dirtyBytes").asLong());
                        }
                    } catch (AssertionError | RuntimeException e) {
                        // the node is restarting or gone: the test decides what that means
                    }
                    try {
                        Thread.sleep(period.toMillis());
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "status-sampler-" + volume);
            thread.setDaemon(true);
            thread.start();
        }

        public Set<String> healths() {
            synchronized (healths) {
                return new LinkedHashSet<>(healths);
            }
        }

        /** The first (at most 3) distinct destage errors seen. */
        public Set<String> errors() {
            synchronized (errors) {
                return new LinkedHashSet<>(errors);
            }
        }

        /** health/policy changes in the order seen, e.g. {@code [ok/write-back (dirty 0), draining/write-through (dirty 123)]}. */
        public List<String> transitions() {
            synchronized (transitions) {
                return new ArrayList<>(transitions);
            }
        }

        public long maxDirty() {
            return maxDirty;
        }

        public long samples() {
            return samples;
        }

        public JsonNode last() {
            return last;
        }

        @Override
        public void close() {
            running = false;
            thread.interrupt();
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public String toString() {
            return "status of " + volume + " sampled " + samples + " times: transitions " + transitions() + ", errors " + errors()
                    + ", max dirty " + maxDirty;
        }
    }
}
