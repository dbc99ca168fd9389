package io.flashvisor.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.flashvisor.backing.BackingOptions;
import io.flashvisor.backing.BackingStores;
import io.flashvisor.cluster.EmbeddedZooKeeper;
import io.flashvisor.cluster.Member;
import io.flashvisor.cluster.VolumeRecord;
import io.flashvisor.cluster.VolumeState;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.node.volume.CachedVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM moves from host a to host b: b's config lists the volume while a still owns it. b starts
 * anyway, shows the volume as {@code waiting} (no export yet), and — once a stops gracefully and
 * gives the record up clean — claims it by itself, without a restart, and serves it through its
 * NBD export, with what a wrote before it stopped.
 */
class ClaimRetryTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void aVolumeOwnedElsewhereAtStartIsServedOnceItsOwnerGivesItUp() throws Exception {
        NodeClusterTest.writeSecret(dir.resolve("secret"));
        try (EmbeddedZooKeeper zk = EmbeddedZooKeeper.start(dir.resolve("zk"))) {
            Node a = Node.start(ConfigLoader.parse(config("a", zk, "rack-1"), "a.yaml", dir));
            Node b = null;
            try {
                assertThat(a.cachedVolumes()).containsKey("vm1");
                b = Node.start(ConfigLoader.parse(config("b", zk, "rack-2"), "b.yaml", dir));
                Node nb = b;

                // b started, but a owns vm1: b does not serve it and says why.
                assertThat(b.cachedVolumes()).doesNotContainKey("vm1");
                assertThat(b.waitingVolumes()).singleElement().satisfies(w -> {
                    assertThat(w.name()).isEqualTo("vm1");
                    assertThat(w.health()).isEqualTo("waiting");
                    assertThat(w.reason()).contains("owned by live host hv-a");
                });
                JsonNode status = NodeClusterTest.control(dir.resolve("b/control.sock"), "status");
                JsonNode waiting = status.get("volumes").get(0);
                assertThat(waiting.get("name").asText()).isEqualTo("vm1");
                assertThat(waiting.get("health").asText()).isEqualTo("waiting");
                assertThat(waiting.get("reason").asText()).contains("hv-a");
                assertThat(NodeClusterTest.control(dir.resolve("b/control.sock"), "drain vm1 1").get("error").asText())
                        .startsWith("volume 'vm1' is not served by this host yet: ");
                assertThatThrownBy(() -> openExport(nb)).as("no export for a volume b does not serve").isInstanceOf(IOException.class);
                // While a keeps it, b keeps waiting (tried again every second, refused every time).
                await().during(Duration.ofSeconds(3)).atMost(WAIT).until(() -> !nb.cachedVolumes().containsKey("vm1")
                        && nb.waitingVolumes().size() == 1);
                assertThat(a.cluster().volume("vm1").orElseThrow().owner()).isEqualTo("hv-a");

                // a writes, then stops gracefully: destaged, the record given up clean.
                byte[] fromA = block((byte) 0xa1);
                a.cachedVolumes().get("vm1").write(65536, ByteBuffer.wrap(fromA), false);
                a.close();
                a = null;

                // b claims vm1 by itself and serves it: the record names b, the status no longer says waiting.
                await().atMost(WAIT).until(() -> nb.cachedVolumes().containsKey("vm1"));
                assertThat(b.waitingVolumes()).isEmpty();
                VolumeRecord r = b.cluster().volume("vm1").orElseThrow();
                assertThat(r.owner()).isEqualTo("hv-b");
                assertThat(r.ownerSession()).isEqualTo(b.cluster().lease().sessionId());
                assertThat(r.state()).isIn(VolumeState.ACTIVE, VolumeState.DEGRADED);
                assertThat(b.cluster().hosts()).extracting(Member::hostId).containsExactly("hv-b");
                assertThat(NodeClusterTest.control(dir.resolve("b/control.sock"), "status").get("volumes").get(0)
                        .get("health").asText()).isNotEqualTo("waiting");

                // Through b's export: a's write is there, and b's own write reads back.
                try (BlockVolume export = openExport(b)) {
                    ByteBuffer got = ByteBuffer.allocate(4096);
                    export.read(65536, got);
                    assertThat(got.array()).as("a's write, read through b").isEqualTo(fromA);
                    byte[] fromB = block((byte) 0xb2);
                    export.write(8192, ByteBuffer.wrap(fromB), false);
                    export.flush();
                    ByteBuffer back = ByteBuffer.allocate(4096);
                    export.read(8192, back);
                    assertThat(back.array()).isEqualTo(fromB);
                }
                CachedVolume vm1 = b.cachedVolumes().get("vm1");
                assertThat(vm1.ownerEpoch()).isEqualTo(r.epoch());
            } finally {
                if (b != null) {
                    b.close();
                }
                if (a != null) {
                    a.close();
                }
            }
        }
    }

    private BlockVolume openExport(Node n) throws IOException {
        return BackingStores.open("nbd+unix:///vm1?socket=" + dir.resolve(n.cluster().hostId().substring(3) + "/nbd.sock"),
                new BackingOptions(false, false));
    }

    private static byte[] block(byte value) {
        byte[] b = new byte[4096];
        Arrays.fill(b, value);
        return b;
    }

    /** Both hosts list vm1 (one backing file, as a SAN LUN): write-back with one replica. */
    private String config(String name, EmbeddedZooKeeper zk, String faultDomain) throws IOException {
        return NodeClusterTest.config(dir, name, "zookeeper: " + zk.connectString(), faultDomain,
                "  - {name: vm1, backing: vm1.img, policy: write-back, replicas: 1}\n");
    }
}
