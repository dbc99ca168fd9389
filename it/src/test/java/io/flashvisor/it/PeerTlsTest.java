package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Peer replication inside mutual TLS between two real nodes: host A owns a write-back volume with
 * {@code replicas: 1} over a very slow SAN, host B (which runs ZooKeeper) holds its replicas; both
 * have {@code cluster.peer-tls} with certificates of one CA. Writes through A's NBD export are
 * acknowledged; A is killed with SIGKILL while they are still dirty; B takes the volume over and
 * destages its replicas to the SAN — which then holds every acknowledged byte, so the replicas
 * crossed the TLS connection. The logs show the connection was TLS 1.3 with A's certificate.
 */
@Timeout(120)
class PeerTlsTest {
    private static final int MiB = 1 << 20;
    private static final int WRITTEN = 4 * MiB;

    @RegisterExtension
    final TestKit kit = new TestKit();

    @Test
    void replicasCrossMutualTlsAndSurviveTheOwner() throws Exception {
        Certs certs = Certs.create(kit.file("pki"));
        Certs.PeerCert certA = certs.peer("hv-a");
        Certs.PeerCert certB = certs.peer("hv-b");
        Path san = kit.file("san.img");
        Tools.sparseFile(san, 64L * MiB);
        // Writes to the SAN take 1 s each: what A acknowledges stays dirty (on A's flash and B's replicas).
        Nbdkit slowSan = kit.slowSan(san, "wdelay=1000ms");
        Path secret = kit.file("cluster.secret");
        Files.writeString(secret, Base64.getEncoder().encodeToString("peer tls integration test secret".getBytes()) + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        int zkPort;
        try (ServerSocket s = new ServerSocket(0)) {
            zkPort = s.getLocalPort();
        }
        Tools.sparseFile(kit.file("scratch.img"), 16L * MiB);
        Path ctlA = kit.file("a-ctl.sock");
        Path ctlB = kit.file("b-ctl.sock");
        FlashvisorProcess b = kit.node(config("b", "embedded-zookeeper: {dir: " + kit.file("zk") + ", port: " + zkPort + "}",
                secret, ctlB, certs, certB, "  - {name: scratch, backing: " + kit.file("scratch.img") + "}\n"), 1);
        FlashvisorProcess a = kit.node(config("a", "zookeeper: 127.0.0.1:" + zkPort, secret, ctlA, certs, certA,
                "  - {name: vm1, backing: \"" + slowSan.uri() + "\", policy: write-back, replicas: 1}\n"), 1);
        Control controlA = new Control(ctlA);
        Control controlB = new Control(ctlB);
        JsonNode record = controlB.record("vm1");
        assertThat(record.get("owner").asText()).isEqualTo("hv-a");
        assertThat(record.get("replicaSet").get(0).asText()).isEqualTo("hv-b");

        byte[] data = new byte[WRITTEN];
        new Random(42).nextBytes(data);
        try (RawNbdClient nbd = RawNbdClient.unix(FlashvisorProcess.socketOf(a.uri())).timeout(Duration.ofSeconds(20))) {
            nbd.handshake("vm1");
            for (int off = 0; off < WRITTEN; off += 256 * 1024) {
                assertThat(nbd.write(off, Arrays.copyOfRange(data, off, off + 256 * 1024)).error()).isZero();
            }
        }
        JsonNode atKill = controlA.volume("vm1");
        a.kill9();
        System.out.println("owner killed with " + Control.summary(atKill));
        assertThat(atKill.path("health").asText()).as("replicated, not degraded: " + atKill).isEqualTo("ok");
        assertThat(atKill.path("dirtyBytes").asLong()).as("acknowledged and not on the SAN at the kill").isGreaterThan(2L * MiB);

        // The connection A -> B was TLS 1.3 with A's certificate, and nobody warned about clear text.
        assertThat(b.stderr()).containsPattern("replication peer authenticated .* tls=TLSv1.3 cert=\"CN=hv-a\"");
        assertThat(a.stderr() + b.stderr()).contains("tls=mutual, TLSv1.3").doesNotContain("NOT encrypted").doesNotContain("error=TLS");

        // B takes over once A's session (2 s) has expired, destaging its replicas straight into the SAN file.
        JsonNode took = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            took = controlB.callRaw("takeover vm1 " + san);
            if (!took.has("error")) {
                break;
            }
            assertThat(took.get("error").asText()).contains("still owned by live host hv-a");
            Thread.sleep(200);
        }
        System.out.println("takeover: " + took);
        assertThat(took.has("error")).as("takeover: " + took).isFalse();
        assertThat(took.get("blocksDestaged").asLong()).isPositive();
        slowSan.stop(); // (A's last delayed destage writes carried the same bytes)
        byte[] onSan = new byte[WRITTEN];
        try (var in = Files.newInputStream(san)) {
            assertThat(in.readNBytes(onSan, 0, WRITTEN)).isEqualTo(WRITTEN);
        }
        assertThat(Arrays.mismatch(onSan, data)).as("first byte of the SAN that differs from what A acknowledged").isEqualTo(-1);
        assertThat(b.stop(Duration.ofSeconds(40))).isZero();
    }

    private String config(String host, String zookeeper, Path secret, Path ctl, Certs certs, Certs.PeerCert cert, String volumes) {
        return """
                listeners: [{unix: %1$s}]
                control: %2$s
                flash: {device: %3$s, size: 128M}
                cluster:
                  name: it
                  host-id: hv-%4$s
                  %5$s
                  session-timeout: 2s
                  auto-takeover: false
                  peer-listen: 127.0.0.1:0
                  secret-file: %6$s
                  peer-tls: {cert: %7$s, key: %8$s, ca: %9$s}
                volumes:
                %10$s""".formatted(kit.file(host + "-nbd.sock"), ctl, kit.file(host + "-flash.img"), host, zookeeper, secret,
                cert.cert(), cert.key(), certs.caCert(), volumes);
    }
}
