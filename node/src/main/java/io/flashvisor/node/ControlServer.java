package io.flashvisor.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.flashvisor.cluster.Cluster;
import io.flashvisor.cluster.ClusterException;
import io.flashvisor.cluster.ClusterView;
import io.flashvisor.cluster.HostInfo;
import io.flashvisor.cluster.Member;
import io.flashvisor.cluster.VolumeRecord;
import io.flashvisor.node.metrics.NodeMetrics;
import io.flashvisor.node.volume.CachedVolume;
import io.flashvisor.node.volume.FlashDevice;
import io.flashvisor.node.volume.VolumeStatus;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's control socket: a Unix socket (mode 0600, so only the node's user and root may use
 * it) that answers one command per connection with one JSON document. Commands:
 * <ul>
 * <li>{@code status} — the flash device and every cached volume ({@link VolumeStatus}, with its latency
 *     breakdown), then every volume waiting to be claimed ({@link WaitingVolume}: health {@code waiting}
 *     and the reason);</li>
 * <li>{@code metrics} — the node's metrics in the Prometheus text format, as the one string field
 *     {@code metrics} (docs/observability.md);</li>
 * <li>{@code policy VOLUME POLICY} — changes a volume's policy online;</li>
 * <li>{@code drain VOLUME SECONDS} — destages at full speed and waits until clean (or the time is up);</li>
 * <li>{@code hosts} — the cluster's live hosts (address, flash, fault domain, session);</li>
 * <li>{@code volumes} — the cluster's volume records (policy, replicas, owner, epoch, replica set, state).</li>
 * </ul>
 * Errors come back as {@code {"error": "..."}}, also for {@code hosts} and {@code volumes} on a node
 * that is not in a cluster. The {@code flashvisor status}, {@code metrics}, {@code policy}, {@code hosts}
 * and {@code volumes} commands are its clients.
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlServer.class);
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final int MAX_LINE = 4096;

    private final Path path;
    private final ServerSocketChannel channel;
    private final Node node;
    private final Thread acceptor;
    private volatile boolean open = true;

    private ControlServer(Path path, ServerSocketChannel channel, Node node) {
        this.path = path;
        this.channel = channel;
        this.node = node;
        this.acceptor = Thread.ofPlatform().daemon().name("control").unstarted(this::accept);
    }

    static ControlServer start(Path path, Node node) throws IOException {
        Files.deleteIfExists(path);
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(path));
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            ch.close();
            throw new IOException("control socket " + path + ": " + e.getMessage(), e);
        }
        ControlServer s = new ControlServer(path, ch, node);
        s.acceptor.start();
        return s;
    }

    private void accept() {
        while (open) {
            try {
                SocketChannel client = channel.accept();
                Thread.ofVirtual().name("control-client").start(() -> serve(client));
            } catch (IOException e) {
                if (open) {
                    LOG.warn("control socket {}: accept failed: {}", path, e.toString());
                }
                return;
            }
        }
    }

    private void serve(SocketChannel client) {
        try (client; OutputStream out = Channels.newOutputStream(client)) {
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(client), StandardCharsets.UTF_8), MAX_LINE);
            String line = in.readLine();
            Object reply;
            try {
                reply = line == null ? error("empty request") : answer(line.strip());
            } catch (IllegalArgumentException e) {
                reply = error(e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                reply = error("interrupted");
            }
            out.write(JSON.writeValueAsBytes(reply));
            out.write('\n');
        } catch (IOException e) {
            LOG.debug("control client went away: {}", e.toString());
        }
    }

    Object answer(String line) throws InterruptedException {
        String[] words = line.split("\\s+");
        switch (words[0]) {
            case "status" -> {
                return status();
            }
            case "metrics" -> {
                return Map.of("metrics", NodeMetrics.render(node));
            }
            case "policy" -> {
                if (words.length != 3) {
                    throw new IllegalArgumentException("usage: policy VOLUME POLICY");
                }
                CachedVolume v = volume(words[1]);
                v.setPolicy(Policy.parse(words[2]));
                return v.status();
            }
            case "drain" -> {
                if (words.length != 3) {
                    throw new IllegalArgumentException("usage: drain VOLUME SECONDS");
                }
                CachedVolume v = volume(words[1]);
                boolean clean = v.awaitClean(Duration.ofSeconds(Long.parseLong(words[2])));
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("clean", clean);
                r.put("volume", v.status());
                return r;
            }
            case "hosts" -> {
                return hosts(view());
            }
            case "volumes" -> {
                return volumes(view());
            }
            case "takeover" -> {
                if (words.length != 3) {
                    throw new IllegalArgumentException("usage: takeover VOLUME BACKING");
                }
                try {
                    return Takeover.run(node, words[1], words[2]);
                } catch (IOException e) {
                    throw new IllegalArgumentException("takeover of " + words[1] + " failed: " + e.getMessage(), e);
                }
            }
            default -> throw new IllegalArgumentException("unknown command '" + words[0]
                    + "'; commands: status, metrics, policy VOLUME POLICY, drain VOLUME SECONDS, hosts, volumes, takeover VOLUME BACKING");
        }
    }

    private CachedVolume volume(String name) {
        CachedVolume v = node.cachedVolumes().get(name);
        if (v == null) {
            for (WaitingVolume w : node.waitingVolumes()) {
                if (w.name().equals(name)) {
                    throw new IllegalArgumentException("volume '" + name + "' is not served by this host yet: " + w.reason());
                }
            }
            throw new IllegalArgumentException("no cached volume '" + name + "'"
                    + (node.flash() == null ? " (this node has no flash device)" : "; volumes: " + node.cachedVolumes().keySet()));
        }
        return v;
    }

    private Map<String, Object> status() {
        Map<String, Object> r = new LinkedHashMap<>();
        FlashDevice flash = node.flash();
        if (flash != null) {
            var s = flash.cache().stats();
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("device", flash.path().toString());
            f.put("capacityBytes", flash.cache().capacityBlocks() * 4096);
            f.put("cachedBytes", s.cachedBlocks() * 4096);
            f.put("dirtyBytes", s.dirtyBlocks() * 4096);
            f.put("segments", s.segments());
            f.put("freeSegments", s.freeSegments());
            f.put("failed", flash.cache().failed());
            f.put("damaged", s.damaged());
            f.put("ramBytes", s.indexBytes() + s.policyBytes() + s.dirtyBytesOfRam());
            r.put("flash", f);
        }
        List<Object> volumes = new ArrayList<>();
        for (CachedVolume v : node.cachedVolumes().values()) {
            volumes.add(v.status());
        }
        volumes.addAll(node.waitingVolumes()); // health "waiting", with the reason
        r.put("volumes", volumes);
        return r;
    }

    /** Hosts and volumes as the cluster has them now; an error reply when the node has no cluster or cannot reach it. */
    private ClusterView view() {
        Cluster cluster = node.cluster();
        if (cluster == null) {
            throw new IllegalArgumentException("this node is not in a cluster (its config has no 'cluster:' section)");
        }
        try {
            return cluster.view();
        } catch (ClusterException e) {
            throw new IllegalArgumentException("cannot read the cluster's records: " + e.getMessage());
        }
    }

    private Map<String, Object> header() {
        Cluster cluster = node.cluster();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("cluster", node.settings().cluster().name());
        r.put("host", cluster.hostId());
        r.put("sessionState", cluster.sessionState().name());
        return r;
    }

    private Map<String, Object> hosts(ClusterView view) {
        Map<String, Object> r = header();
        List<Map<String, Object>> hosts = new ArrayList<>();
        for (Member m : view.hosts()) {
            HostInfo h = m.info();
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("hostId", h.hostId());
            e.put("peerAddress", h.peerAddress());
            e.put("flashCapacityBytes", h.flashCapacityBytes());
            e.put("freeFlashBytes", h.freeFlashBytes());
            e.put("faultDomain", h.faultDomain());
            e.put("session", session(m.sessionId()));
            hosts.add(e);
        }
        r.put("hosts", hosts);
        return r;
    }

    private Map<String, Object> volumes(ClusterView view) {
        Map<String, Object> r = header();
        List<Map<String, Object>> volumes = new ArrayList<>();
        for (VolumeRecord v : view.volumes()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", v.name());
            e.put("policy", v.policy());
            e.put("replicas", v.replicas());
            e.put("owner", v.owner());
            e.put("ownerSession", v.hasOwner() ? session(v.ownerSession()) : null);
            e.put("ownerLive", v.hasOwner() && view.ownerLive(v));
            e.put("epoch", v.epoch());
            e.put("replicaSet", v.replicaSet());
            e.put("state", v.state().name());
            e.put("version", v.version());
            volumes.add(e);
        }
        r.put("volumes", volumes);
        return r;
    }

    private static String session(long id) {
        return "0x" + Long.toHexString(id);
    }

    private static Map<String, String> error(String message) {
        return Map.of("error", message);
    }

    @Override
    public void close() throws IOException {
        open = false;
        try {
            channel.close();
        } finally {
            Files.deleteIfExists(path);
        }
    }
}
