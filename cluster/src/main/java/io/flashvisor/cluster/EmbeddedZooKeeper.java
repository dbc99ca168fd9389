package io.flashvisor.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.apache.zookeeper.server.embedded.ExitHandler;
import org.apache.zookeeper.server.embedded.ZooKeeperServerEmbedded;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single ZooKeeper server in this process, on loopback, for the demo and the tests — production
 * uses an ensemble. Built on ZooKeeper's own {@link ZooKeeperServerEmbedded}. Its data (snapshots,
 * transaction log) lives under the given directory, so {@link #stop()} then {@link #start()} on the
 * same instance keeps both the records and the sessions (a client that reconnects within its
 * session timeout keeps its session — the way to test SUSPENDED then RECONNECTED).
 *
 * <p>The tick time bounds the session timeouts the server grants to [2, 20] ticks; the default
 * 500 ms allows 1–10 s and keeps tick ≤ T/3 for T ≥ 1.5 s, as docs/cluster.md requires.
 */
public final class EmbeddedZooKeeper implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedZooKeeper.class);
    public static final Duration DEFAULT_TICK = Duration.ofMillis(500);

    private final Path baseDir;
    private final int port;
    private final Duration tick;
    private ZooKeeperServerEmbedded server;

    private EmbeddedZooKeeper(Path baseDir, int port, Duration tick) {
        this.baseDir = baseDir;
        this.port = port;
        this.tick = tick;
    }

    /** Starts a server on a free loopback port with data under {@code baseDir}. */
    public static EmbeddedZooKeeper start(Path baseDir) {
        return start(baseDir, 0, DEFAULT_TICK);
    }

    /** @param port the client port; 0 picks a free one (kept across {@link #stop()}/{@link #start()}) */
    public static EmbeddedZooKeeper start(Path baseDir, int port, Duration tick) {
        EmbeddedZooKeeper zk = new EmbeddedZooKeeper(baseDir, port == 0 ? freePort() : port, tick);
        zk.start();
        return zk;
    }

    /** (Re)starts the server on the same port and data directory. */
    public synchronized void start() {
        if (server != null) {
            return;
        }
        Properties p = new Properties();
        p.setProperty("clientPort", Integer.toString(port));
        p.setProperty("clientPortAddress", InetAddress.getLoopbackAddress().getHostAddress());
        p.setProperty("dataDir", baseDir.resolve("data").toAbsolutePath().toString());
        p.setProperty("tickTime", Long.toString(tick.toMillis()));
        p.setProperty("initLimit", "10");
        p.setProperty("syncLimit", "5");
        p.setProperty("admin.enableServer", "false");
        p.setProperty("maxClientCnxns", "0");
        try {
            Files.createDirectories(baseDir);
            server = ZooKeeperServerEmbedded.builder().baseDir(baseDir).configuration(p).exitHandler(ExitHandler.LOG_ONLY).build();
            server.start(Duration.ofSeconds(30).toMillis());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare ZooKeeper data directory " + baseDir, e);
        } catch (Exception e) {
            server = null;
            throw new IllegalStateException("cannot start the embedded ZooKeeper on port " + port + ": " + e.getMessage(), e);
        }
        LOG.info("embedded ZooKeeper serving on {} (data in {})", connectString(), baseDir);
    }

    /** Stops the server, keeping its data; clients see their connection drop. Idempotent. */
    public synchronized void stop() {
        if (server != null) {
            server.close();
            server = null;
            LOG.info("embedded ZooKeeper on port {} stopped", port);
        }
    }

    public String connectString() {
        return InetAddress.getLoopbackAddress().getHostAddress() + ":" + port;
    }

    public int port() {
        return port;
    }

    public synchronized boolean running() {
        return server != null;
    }

    @Override
    public void close() {
        stop();
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free loopback port for ZooKeeper", e);
        }
    }
}
