package io.flashvisor.replication.transport;

import static io.flashvisor.replication.transport.Fixture.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.replication.NettyLeakCheck;
import io.flashvisor.replication.protocol.Messages;
import io.flashvisor.replication.protocol.Read;
import io.flashvisor.replication.protocol.Replicate;
import java.io.InputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS under the peer protocol, through real sockets: both sides with certificates of the
 * cluster CA replicate as without TLS; every mismatch (one side without TLS, a certificate of
 * another CA, the right certificate with the wrong secret) fails the connect with a message that
 * names the cause — never a hang — and leaves the server serving good peers.
 */
@ExtendWith(NettyLeakCheck.class)
class PeerTlsTest {
    private static PeerCerts certs;
    private static PeerTls tlsA;
    private static PeerTls tlsB;
    private final InMemoryReplicaSink sink = new InMemoryReplicaSink();
    private ReplicationServer server;

    @BeforeAll
    static void pki() throws Exception {
        certs = PeerCerts.get();
        tlsA = certs.hostA.tls(certs.ca);
        tlsB = certs.hostB.tls(certs.ca);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private void startServer(PeerTls tls) throws Exception {
        server = ReplicationServer.start(serverSettings().withTls(tls), sink);
    }

    private static PeerConnector connector(PeerTls tls) {
        return PeerConnector.create(PeerConnector.Settings.of(CLIENT_HOST, SECRET).withTls(tls));
    }

    /** Connects, replicates a block, reads it back, closes. */
    private static void replicateThrough(PeerConnector connector, ReplicationServer server, long block) throws Exception {
        PeerClient client = connector.connect(address(server), SERVER_HOST).get(10, TimeUnit.SECONDS);
        ByteBuffer data = Messages.blockData(8, block);
        client.replicate(new Replicate(CLIENT_HOST, 10, 3, 1, block, 8, block, data)).get(10, TimeUnit.SECONDS);
        assertThat(client.read(new Read(10, 3, block, 8)).get(10, TimeUnit.SECONDS)).isEqualTo(data.duplicate().rewind());
        client.close();
    }

    private static PeerConnectionException connectFails(PeerConnector connector, ReplicationServer server) {
        CompletableFuture<PeerClient> f = connector.connect(address(server), SERVER_HOST);
        long start = System.nanoTime();
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> f.get(10, TimeUnit.SECONDS));
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertThat(t).as("connect must fail, not hang").isInstanceOf(ExecutionException.class);
        assertThat(t.getCause()).isInstanceOf(PeerConnectionException.class);
        // Fails on the peer's answer, not on the 5 s connect deadline.
        assertThat(t.getCause().getMessage()).doesNotContain("did not complete the handshake within");
        assertThat(ms).as("time to fail: " + t.getCause().getMessage()).isLessThan(4900);
        return (PeerConnectionException) t.getCause();
    }

    @Test
    void bothSidesWithTlsReplicateAndRead() throws Exception {
        startServer(tlsB);
        try (PeerConnector connector = connector(tlsA)) {
            replicateThrough(connector, server, 100);
            replicateThrough(connector, server, 200);
        }
        assertThat(sink.blockCount()).isEqualTo(16);
    }

    @Test
    void thePeerCertificateIsTheClustersAndTls13() throws Exception {
        startServer(tlsB);
        try (PeerConnector connector = connector(tlsA)) {
            PeerClient client = connector.connect(address(server), SERVER_HOST).get(10, TimeUnit.SECONDS);
            assertThat(client.tlsSession().getProtocol()).isEqualTo("TLSv1.3");
            assertThat(client.tlsSession().getPeerPrincipal().getName()).isEqualTo("CN=hv-b");
            client.close();
        }
    }

    @Test
    void aPlainClientFailsCleanlyAndTheServerServesTheNextOne() throws Exception {
        startServer(tlsB);
        try (LogCapture log = new LogCapture(); PeerConnector plain = connector(null)) {
            PeerConnectionException e = connectFails(plain, server);
            assertThat(e).hasMessageContaining("closed the connection during the handshake").hasMessageContaining("peer-tls");
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> log.contains("not a TLS record"));
            assertThat(log.lines()).hasSize(1);
            assertThat(log.lines().getFirst()).contains("error=TLS").contains("configure cluster.peer-tls on every host or on none");
        }
        try (PeerConnector good = connector(tlsA)) {
            replicateThrough(good, server, 300);
        }
        assertThat(sink.blockCount()).isEqualTo(8);
    }

    @Test
    void aTlsClientToAPlainServerFailsCleanlyAndTheServerServesTheNextOne() throws Exception {
        startServer(null);
        try (LogCapture log = new LogCapture(); PeerConnector tls = connector(tlsA)) {
            PeerConnectionException e = connectFails(tls, server);
            assertThat(e).hasMessageContaining("TLS handshake with replication peer")
                    .hasMessageContaining("does not speak TLS");
            // The plain server sees garbage instead of a HELLO: a protocol error, one line.
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> log.contains("bad magic"));
        }
        try (PeerConnector plain = connector(null)) {
            replicateThrough(plain, server, 400);
        }
    }

    @Test
    void aClientCertificateOfAnotherCaIsRefusedByTheServer() throws Exception {
        startServer(tlsB);
        PeerTls strangerTls = certs.stranger.tls(certs.bothCas); // it trusts our server; its own certificate is not ours
        try (LogCapture log = new LogCapture(); PeerConnector stranger = connector(strangerTls)) {
            PeerConnectionException e = connectFails(stranger, server);
            assertThat(e).hasMessageContaining("TLS handshake with replication peer");
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> log.contains("error=TLS"));
            assertThat(log.lines()).hasSize(1);
        }
        try (PeerConnector good = connector(tlsA)) {
            replicateThrough(good, server, 500);
        }
        assertThat(sink.blockCount()).isEqualTo(8);
    }

    @Test
    void aServerCertificateOfAnotherCaIsRefusedByTheClient() throws Exception {
        startServer(certs.stranger.tls(certs.bothCas)); // it would accept us; we must not accept it
        try (PeerConnector connector = connector(tlsA)) {
            PeerConnectionException e = connectFails(connector, server);
            assertThat(e).hasMessageContaining("TLS handshake with replication peer").hasMessageContaining("cluster's CA");
        }
        assertThat(sink.blockCount()).isZero();
    }

    @Test
    void tlsDoesNotReplaceTheClusterSecret() throws Exception {
        startServer(tlsB);
        try (PeerConnector wrongSecret = PeerConnector.create(PeerConnector.Settings.of(CLIENT_HOST, WRONG).withTls(tlsA))) {
            PeerConnectionException e = connectFails(wrongSecret, server);
            assertThat(e).hasMessageContaining("AUTHENTICATION").hasMessageContaining("same cluster secret");
        }
    }

    @Test
    void aSilentConnectionIsClosedAtTheHandshakeTimeout() throws Exception {
        server = ReplicationServer.start(serverSettings().withHandshakeTimeout(Duration.ofMillis(500)).withTls(tlsB), sink);
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(5000);
            InputStream in = s.getInputStream();
            long start = System.nanoTime();
            assertThat(in.read()).isEqualTo(-1); // closed by the server, nothing sent in clear
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        }
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> server.connectionCount() == 0);
    }

    @Test
    void loadNamesTheFileAtFault(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("missing.pem");
        assertThatThrownBy(() -> PeerTls.load(missing, certs.hostA.key(), certs.ca)).hasMessageContaining(missing.toString());
        Path notPem = Files.writeString(dir.resolve("not.pem"), "hello\n");
        assertThatThrownBy(() -> PeerTls.load(notPem, certs.hostA.key(), certs.ca))
                .hasMessageContaining("certificate file " + notPem);
        assertThatThrownBy(() -> PeerTls.load(certs.hostA.cert(), certs.hostA.key(), notPem))
                .hasMessageContaining("CA file " + notPem);
        assertThatThrownBy(() -> PeerTls.load(certs.hostA.cert(), notPem, certs.ca))
                .hasMessageContaining("key " + notPem).hasMessageContaining("PKCS#8");
        // The key of another host: caught at load, not at the first handshake.
        assertThatThrownBy(() -> PeerTls.load(certs.hostA.cert(), certs.hostB.key(), certs.ca))
                .hasMessageContaining("is not the key of certificate");
        // A host whose own certificate its peers would refuse.
        assertThatThrownBy(() -> PeerTls.load(certs.stranger.cert(), certs.stranger.key(), certs.ca))
                .hasMessageContaining("is not signed by the CA in " + certs.ca);
    }
}
