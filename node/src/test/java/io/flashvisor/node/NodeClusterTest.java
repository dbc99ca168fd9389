package io.flashvisor.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flashvisor.cluster.Cluster;
import io.flashvisor.cluster.Member;
import io.flashvisor.cluster.VolumeRecord;
import io.flashvisor.cluster.VolumeState;
import io.flashvisor.replication.transport.PeerClient;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import io.flashvisor.cache.engine.FlashCache;
import io.flashvisor.cache.engine.ReplicaStore;
import io.flashvisor.node.volume.CachedVolume;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes in one JVM form a cluster around the first one's embedded ZooKeeper: both register,
 * every configured volume gets a record, the control socket lists hosts and volumes, the peer
 * connectors authenticate with the shared secret, and a node that closes leaves the membership.
 */
class NodeClusterTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    @Test
    void twoNodesJoinOneClusterAndLeaveIt() throws Exception {
        writeSecret(dir.resolve("secret"));
        try (Node a = Node.start(ConfigLoader.parse(config("a", "embedded-zookeeper: {dir: zk}", "rack-1", """
                  - {name: vm1, backing: vm1.img, policy: write-back, replicas: 1}
                  - {name: vm2, backing: vm2.img, policy: write-through}
                """), "a.yaml", dir))) {
            String zk = a.membership().connectString();
            Node b = Node.start(ConfigLoader.parse(config("b", "zookeeper: " + zk, "rack-2", """
                      - {name: vm3, backing: vm3.img, policy: write-back, replicas: 2}
                    """), "b.yaml", dir));
            try {
                Cluster ca = a.cluster();
                // Both hosts are members, as each announced itself (address with the bound port, flash, fault domain).
                await().atMost(WAIT).until(() -> ca.hosts().stream().map(Member::hostId).toList(), h -> h.equals(List.of("hv-a", "hv-b")));
                for (Node n : List.of(a, b)) {
                    Member m = ca.hosts().stream().filter(x -> x.hostId().equals(n.cluster().hostId())).findFirst().orElseThrow();
                    assertThat(m.info()).isEqualTo(n.membership().self());
                    assertThat(m.info().peerAddress()).isEqualTo("127.0.0.1:" + n.membership().replicationAddress().getPort());
                    assertThat(m.info().flashCapacityBytes()).isEqualTo(n.flash().cache().capacityBlocks() * 4096).isPositive();
                    assertThat(m.info().freeFlashBytes()).isPositive().isLessThanOrEqualTo(m.info().flashCapacityBytes());
                    assertThat(m.sessionId()).isEqualTo(n.cluster().lease().sessionId());
                    assertThat(n.peerConnector()).isNotNull();
                    assertThat(n.replicaStore()).isSameAs(n.flash().cache().replicas());
                }
                assertThat(a.membership().self().faultDomain()).isEqualTo("rack-1");
                assertThat(b.membership().self().faultDomain()).isEqualTo("rack-2");

                // One record per volume. A write-back volume with replicas is claimed by the node that serves it
                // (epoch 1), degraded when fewer peers were live than it promises: a started before b (vm1: no peer),
                // b found only a (vm3: one of two). vm2 (no replicas) stays unowned. Once b is live, a's vm1 takes it
                // as its replica peer (re-replication): ACTIVE in the same epoch.
                await().atMost(WAIT).until(() -> b.cluster().volume("vm1").orElseThrow().state() == VolumeState.ACTIVE);
                assertThat(b.cluster().volumes()).extracting(VolumeRecord::name, VolumeRecord::owner, VolumeRecord::epoch,
                        VolumeRecord::state, VolumeRecord::replicaSet).containsExactly(
                        tuple("vm1", "hv-a", 1L, VolumeState.ACTIVE, List.of("hv-b")),
                        tuple("vm2", null, 0L, VolumeState.CLEAN, List.of()),
                        tuple("vm3", "hv-b", 1L, VolumeState.DEGRADED, List.of("hv-a")));
                assertThat(a.replicas("vm1")).isEqualTo(1);
                assertThat(a.replicas("vm2")).isZero();

                // b's writes to vm3 reach a's flash log as replicas, and — a copy short — the backing store too.
                CachedVolume vm3 = b.cachedVolumes().get("vm3");
                byte[] block = new byte[4096];
                java.util.Arrays.fill(block, (byte) 0x3c);
                vm3.write(8192, ByteBuffer.wrap(block), false);
                assertThat(a.replicaStore().versions(ClusterSpec.peerId("hv-b"), FlashCache.volumeId("vm3")))
                        .extracting(ReplicaStore.Version::block).containsExactly(2L);
                assertThat(vm3.status().health()).isEqualTo("degraded");
                byte[] onBacking = new byte[4096];
                try (RandomAccessFile f = new RandomAccessFile(dir.resolve("vm3.img").toFile(), "r")) {
                    f.seek(8192);
                    f.readFully(onBacking);
                }
                assertThat(onBacking).as("written through to the backing store").isEqualTo(block);

                // The control socket answers hosts and volumes.
                JsonNode hosts = control(dir.resolve("a/control.sock"), "hosts");
                assertThat(hosts.get("cluster").asText()).isEqualTo("test");
                assertThat(hosts.get("host").asText()).isEqualTo("hv-a");
                assertThat(hosts.get("sessionState").asText()).isEqualTo("CONNECTED");
                assertThat(hosts.get("hosts")).hasSize(2);
                JsonNode hb = hosts.get("hosts").get(1);
                assertThat(hb.get("hostId").asText()).isEqualTo("hv-b");
                assertThat(hb.get("peerAddress").asText()).isEqualTo(b.membership().self().peerAddress());
                assertThat(hb.get("flashCapacityBytes").asLong()).isEqualTo(b.membership().self().flashCapacityBytes());
                assertThat(hb.get("freeFlashBytes").asLong()).isEqualTo(b.membership().self().freeFlashBytes());
                assertThat(hb.get("faultDomain").asText()).isEqualTo("rack-2");
                assertThat(hb.get("session").asText()).isEqualTo("0x" + Long.toHexString(b.cluster().lease().sessionId()));

                JsonNode volumes = control(dir.resolve("b/control.sock"), "volumes");
                assertThat(volumes.get("host").asText()).isEqualTo("hv-b");
                assertThat(volumes.get("volumes")).hasSize(3);
                JsonNode vm1 = volumes.get("volumes").get(0);
                assertThat(vm1.get("name").asText()).isEqualTo("vm1");
                assertThat(vm1.get("policy").asText()).isEqualTo("write-back");
                assertThat(vm1.get("replicas").asInt()).isEqualTo(1);
                assertThat(vm1.get("owner").asText()).isEqualTo("hv-a");
                assertThat(vm1.get("ownerLive").asBoolean()).isTrue();
                assertThat(vm1.get("epoch").asLong()).isEqualTo(1);
                assertThat(vm1.get("replicaSet").get(0).asText()).isEqualTo("hv-b");
                assertThat(vm1.get("state").asText()).isEqualTo(VolumeState.ACTIVE.name());
                assertThat(control(dir.resolve("b/control.sock"), "status").has("volumes")).isTrue();

                // A claim shows as owner and epoch 1.
                assertThat(ca.claimOwnership("vm2", VolumeState.ACTIVE, List.of()).won()).isTrue();
                JsonNode vm2 = control(dir.resolve("b/control.sock"), "volumes").get("volumes").get(1);
                assertThat(vm2.get("owner").asText()).isEqualTo("hv-a");
                assertThat(vm2.get("ownerLive").asBoolean()).isTrue();
                assertThat(vm2.get("epoch").asLong()).isEqualTo(1);
                assertThat(vm2.get("state").asText()).isEqualTo("ACTIVE");

                // The peer connector of a reaches b's replication server and both prove the cluster secret and their ids.
                PeerClient peer = a.peerConnector().connect(b.membership().replicationAddress(), ClusterSpec.peerId("hv-b"))
                        .get(10, TimeUnit.SECONDS);
                try {
                    assertThat(peer.peerHostId()).isEqualTo(b.settings().cluster().peerId());
                    assertThat(peer.ping().get(10, TimeUnit.SECONDS)).isPositive();
                } finally {
                    peer.close();
                }
            } finally {
                b.close();
            }
            // b's session ended: its host record is gone, its volume record stays.
            await().atMost(WAIT).until(() -> a.cluster().hosts().stream().map(Member::hostId).toList(), h -> h.equals(List.of("hv-a")));
            // b stopped gracefully: vm3 was clean, so b gave it up (no owner, CLEAN, epoch + 1) — any host may serve it now.
            VolumeRecord vm3After = a.cluster().volume("vm3").orElseThrow();
            assertThat(vm3After.owner()).isNull();
            assertThat(vm3After.state()).isEqualTo(VolumeState.CLEAN);
            assertThat(vm3After.epoch()).isEqualTo(2);
            assertThat(control(dir.resolve("a/control.sock"), "hosts").get("hosts")).hasSize(1);
            assertThat(b.cluster().sessionState().isConnected()).isFalse();
        }
    }

    @Test
    void aFailureAtStartSaysWhichPartFailedAndClosesWhatWasOpened() throws Exception {
        writeSecret(dir.resolve("secret"));
        String zkOfA;
        try (Node a = Node.start(ConfigLoader.parse(config("a", "embedded-zookeeper: {dir: zk}", "rack-1",
                "  - {name: vm1, backing: vm1.img, policy: write-back}\n"), "a.yaml", dir))) {
            zkOfA = a.membership().connectString();
            // A second host with a's host id cannot register while a is alive.
            int port = freePort();
            String c = config("c", "zookeeper: " + a.membership().connectString(), "rack-3",
                    "  - {name: vm9, backing: vm9.img, policy: write-back}\n")
                    .replace("host-id: hv-c", "host-id: hv-a").replace("peer-listen: 127.0.0.1:0", "peer-listen: 127.0.0.1:" + port)
                    .replace("session-timeout: 2s", "session-timeout: 1s");
            assertThatThrownBy(() -> Node.start(ConfigLoader.parse(c, "c.yaml", dir)))
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("cluster: cannot register host 'hv-a' in cluster 'test'");
            // Its replication server was closed (the port is free again), its session ended (a is the only hv-a), and
            // nothing of it was recorded.
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                assertThat(s.getLocalPort()).isEqualTo(port);
            }
            assertThat(a.cluster().hosts()).extracting(Member::sessionId).containsExactly(a.cluster().lease().sessionId());
            assertThat(a.cluster().volume("vm9")).isEmpty();
            // Its flash device was closed too: a node can open it again (single host this time).
            String single = config("c", "", "", "  - {name: vm9, backing: vm9.img, policy: write-back}\n");
            single = single.substring(0, single.indexOf("cluster:")) + single.substring(single.indexOf("volumes:"));
            try (Node again = Node.start(ConfigLoader.parse(single, "c1.yaml", dir))) {
                assertThat(again.cluster()).isNull();
                assertThat(again.peerConnector()).isNull();
                assertThat(again.replicaStore()).isNull();
                assertThat(again.replicas("vm9")).isZero();
                assertThat(control(dir.resolve("c/control.sock"), "hosts").get("error").asText())
                        .isEqualTo("this node is not in a cluster (its config has no 'cluster:' section)");
            }
        }
        // a's embedded ZooKeeper stopped with a.
        assertThatThrownBy(() -> Node.start(ConfigLoader.parse(config("d", "zookeeper: " + zkOfA, "rack-4",
                "  - {name: vm4, backing: vm4.img}\n"), "d.yaml", dir)))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("cluster: cannot connect to ZooKeeper at " + zkOfA + ": ");
    }

    private String config(String name, String zookeeper, String faultDomain, String volumes) throws IOException {
        return config(dir, name, zookeeper, faultDomain, volumes);
    }

    /**
     * A node's config under {@code dir/<name>}: Unix sockets, a 64M flash file, a cluster section with
     * {@code zookeeper} (a {@code zookeeper:} or {@code embedded-zookeeper:} line); the volumes' backing
     * files (relative to {@code dir}) are created at 16M if missing.
     */
    static String config(Path dir, String name, String zookeeper, String faultDomain, String volumes) throws IOException {
        Files.createDirectories(dir.resolve(name));
        for (String line : volumes.split("\n")) {
            int b = line.indexOf("backing: ");
            if (b >= 0) {
                Path img = dir.resolve(line.substring(b + 9).split("[,}]")[0].strip());
                if (!Files.exists(img)) {
                    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
                        f.setLength(16 << 20);
                    }
                }
            }
        }
        return """
                listeners: [{unix: %1$s/nbd.sock}]
                control: %1$s/control.sock
                flash: {device: %1$s/flash.img, size: 64M}
                cluster:
                  name: test
                  host-id: hv-%1$s
                  %2$s
                  session-timeout: 2s
                  peer-listen: 127.0.0.1:0
                  secret-file: secret
                  fault-domain: %3$s
                volumes:
                %4$s""".formatted(name, zookeeper, faultDomain, volumes);
    }

    static void writeSecret(Path file) throws IOException {
        byte[] key = new byte[32];
        new java.security.SecureRandom().nextBytes(key);
        Files.writeString(file, Base64.getEncoder().encodeToString(key) + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }

    static JsonNode control(Path socket, String command) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            OutputStream out = Channels.newOutputStream(ch);
            out.write((command + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            ch.shutdownOutput();
            return new ObjectMapper().readTree(Channels.newInputStream(ch).readAllBytes());
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
