package io.flashvisor.nbd;

import static io.flashvisor.nbd.wire.NbdConstants.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.common.VolumeFeatures;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The real server on real sockets (Unix and TCP, with and without TLS), with an in-test client and the real NBD tools. */
@ExtendWith(NettyLeakCheck.class)
class NbdServerTest {
    @TempDir
    Path dir;

    final MemoryVolume disk = new MemoryVolume(4 << 20);
    final ExportCatalog catalog = new ExportCatalog();
    final List<NbdServer> servers = new ArrayList<>();

    NbdServerTest() {
        catalog.add(new Export("disk", "test disk", disk));
        catalog.add(new Export("ro", "", new MemoryVolume(1 << 20, VolumeFeatures.full().withReadOnly(true))));
        catalog.setDefaultExport("disk");
    }

    NbdServer start(Duration drain, Listener... listeners) throws IOException {
        NbdServer s = NbdServer.start(catalog, List.of(listeners), new NbdServer.Settings(1 << 20, drain));
        servers.add(s);
        return s;
    }

    @AfterEach
    void stop() {
        servers.forEach(NbdServer::close);
    }

    static String run(String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PATH", "/usr/bin:" + System.getenv("PATH"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s exited with: %s", String.join(" ", command), out).isZero();
        return out;
    }

    static boolean installed(String tool) {
        return Files.isExecutable(Path.of("/usr/bin", tool));
    }

    @Test
    void unixSocketServesClientsAndIsRemovedOnClose() throws Exception {
        Path sock = dir.resolve("nbd.sock");
        NbdServer server = start(Duration.ofSeconds(5), new Listener.Unix(sock, 0600));
        assertThat(Files.getPosixFilePermissions(sock)).isEqualTo(PosixFilePermissions.fromString("rw-------"));

        try (TinyNbdClient c = TinyNbdClient.unix(sock)) {
            assertThat(c.go("disk")).isEqualTo(REP_ACK);
            assertThat(c.size).isEqualTo(4 << 20);
            byte[] data = new byte[65536];
            new java.util.Random(1).nextBytes(data);
            assertThat(c.write(8192, data)).isZero();
            assertThat(c.flush()).isZero();
            assertThat(c.read(8192, 65536)).isEqualTo(data);
            c.disconnect();
            assertThat(c.atEof()).isTrue();
        }
        if (installed("qemu-io")) {
            String uri = "nbd+unix:///disk?socket=" + sock;
            String out = run("qemu-io", "-f", "raw", uri, "-c", "write -P 0xab 1M 256k", "-c", "read -P 0xab 1M 256k",
                    "-c", "write -z 2M 64k", "-c", "read -P 0 2M 64k", "-c", "flush");
            assertThat(out).doesNotContain("fail").doesNotContain("Pattern verification");
        }
        if (installed("nbdinfo")) {
            String info = run("nbdinfo", "--json", "nbd+unix:///ro?socket=" + sock);
            assertThat(info).contains("\"export-size\": 1048576").contains("\"is_read_only\": true").contains("base:allocation");
            String map = run("nbdinfo", "--map", "nbd+unix:///disk?socket=" + sock);
            assertThat(map).contains("data").contains("hole,zero");
        }
        server.close();
        assertThat(sock).doesNotExist();
        server.close(); // idempotent
    }

    /** A node adds the export of a volume it could claim only after start: new connections find it, without a restart. */
    @Test
    void anExportAddedWhileTheServerRunsIsFoundByNewConnections() throws Exception {
        Path sock = dir.resolve("late.sock");
        start(Duration.ofSeconds(1), new Listener.Unix(sock, 0600));
        try (TinyNbdClient c = TinyNbdClient.unix(sock)) {
            assertThat(c.go("late")).isEqualTo(REP_ERR_UNKNOWN);
        }
        MemoryVolume late = new MemoryVolume(1 << 20);
        catalog.add(new Export("late", "claimed after start", late));
        try (TinyNbdClient c = TinyNbdClient.unix(sock)) {
            assertThat(c.go("late")).isEqualTo(REP_ACK);
            assertThat(c.size).isEqualTo(1 << 20);
            assertThat(c.write(4096, new byte[] {7, 8, 9})).isZero();
            assertThat(c.read(4096, 3)).containsExactly(7, 8, 9);
        }
    }

    @Test
    void staleSocketFileIsReplacedButALiveSocketIsNot() throws Exception {
        Path sock = dir.resolve("stale.sock");
        try (ServerSocketChannel old = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            old.bind(UnixDomainSocketAddress.of(sock));
        } // closed without unlinking: a stale file, as after a crash
        assertThat(sock).exists();
        start(Duration.ofSeconds(1), new Listener.Unix(sock, 0660));
        try (TinyNbdClient c = TinyNbdClient.unix(sock)) {
            assertThat(c.go("")).isEqualTo(REP_ACK);
        }
        assertThatThrownBy(() -> start(Duration.ofSeconds(1), new Listener.Unix(sock, 0600)))
                .isInstanceOf(IOException.class).hasMessageContaining("another process is listening");
        Path file = Files.writeString(dir.resolve("plain"), "x");
        assertThatThrownBy(() -> start(Duration.ofSeconds(1), new Listener.Unix(file, 0600)))
                .isInstanceOf(IOException.class).hasMessageContaining("not a socket");
        assertThat(file).exists();
    }

    @Test
    void plaintextTcpOnAnEphemeralPort() throws Exception {
        Listener.Tcp tcp = Listener.Tcp.insecure("127.0.0.1", 0);
        NbdServer server = start(Duration.ofSeconds(1), tcp);
        int port = server.boundPort(tcp);
        assertThat(port).isPositive();
        try (TinyNbdClient c = TinyNbdClient.tcp("127.0.0.1", port)) {
            assertThat(c.option(OPT_STARTTLS, new byte[0]).type()).isEqualTo(REP_ERR_POLICY);
            assertThat(c.go("disk")).isEqualTo(REP_ACK);
            assertThat(c.write(0, new byte[] {1, 2, 3})).isZero();
            assertThat(c.read(0, 3)).containsExactly(1, 2, 3);
        }
        if (installed("nbdinfo")) {
            assertThat(run("nbdinfo", "--size", "nbd://127.0.0.1:" + port + "/disk").trim()).isEqualTo(String.valueOf(4 << 20));
        }
    }

    @Test
    void tlsWithClientCertificates() throws Exception {
        TestCerts certs = TestCerts.get();
        Listener.Tcp tcp = Listener.Tcp.secure("127.0.0.1", 0, new TlsSettings(certs.serverCert, certs.serverKey, certs.caCert));
        int port = start(Duration.ofSeconds(1), tcp).boundPort(tcp);

        try (TinyNbdClient c = TinyNbdClient.tcp("127.0.0.1", port)) {
            assertThat(c.option(OPT_LIST, new byte[0]).type()).isEqualTo(REP_ERR_TLS_REQD);
            c.startTls(sslContext(certs, true));
            assertThat(c.go("disk")).isEqualTo(REP_ACK);
            assertThat(c.write(4096, new byte[] {9, 8, 7})).isZero();
            assertThat(c.read(4096, 3)).containsExactly(9, 8, 7);
            c.disconnect();
            assertThat(c.atEof()).isTrue();
        }
        try (TinyNbdClient c = TinyNbdClient.tcp("127.0.0.1", port)) {
            assertThatThrownBy(() -> {
                c.startTls(sslContext(certs, false));
                c.go("disk"); // with TLS 1.3 the refusal may only show on first use
            }).isInstanceOf(IOException.class);
        }
        if (installed("nbdinfo")) {
            String out = run("nbdinfo", "--json", "nbds://localhost:" + port + "/disk?tls-certificates=" + certs.dir);
            assertThat(out).contains("\"export-size\": 4194304").contains("TLS");
        }
    }

    @Test
    void closeLetsInFlightRequestsFinishAndRefusesNewOnes() throws Exception {
        Path sock = dir.resolve("drain.sock");
        NbdServer server = start(Duration.ofSeconds(20), new Listener.Unix(sock, 0600));
        CountDownLatch gate = disk.gate("read");
        try (TinyNbdClient c = TinyNbdClient.unix(sock)) {
            assertThat(c.go("disk")).isEqualTo(REP_ACK);
            c.sendRead(11, 0, 4096);
            org.awaitility.Awaitility.await().until(() -> disk.calls.contains("read 0 4096"));
            CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
            // a request sent while draining is refused with ESHUTDOWN (allow the drain to start first)
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
                c.sendFlush(12);
                return c.replyHeader(12) == ESHUTDOWN;
            });
            assertThat(closing).isNotDone();
            gate.countDown();
            assertThat(c.replyHeader(11)).isZero();
            assertThat(c.readFully(4096)).hasSize(4096);
            closing.get(10, TimeUnit.SECONDS);
            assertThat(c.atEof()).isTrue();
        } finally {
            gate.countDown();
        }
        assertThat(sock).doesNotExist();
    }

    @Test
    void closeGivesUpOnStuckRequestsAfterTheDrainTimeout() throws Exception {
        Path sock = dir.resolve("stuck.sock");
        NbdServer server = start(Duration.ofMillis(300), new Listener.Unix(sock, 0600));
        CountDownLatch gate = disk.gate("read");
        try (TinyNbdClient c = TinyNbdClient.unix(sock)) {
            assertThat(c.go("disk")).isEqualTo(REP_ACK);
            c.sendRead(1, 0, 4096);
            org.awaitility.Awaitility.await().until(() -> disk.calls.contains("read 0 4096"));
            long start = System.nanoTime();
            server.close();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
            assertThat(c.atEof()).isTrue();
        } finally {
            gate.countDown();
        }
    }

    @Test
    void startFailsClearlyOnBadTlsFiles() throws Exception {
        Path garbage = Files.writeString(dir.resolve("cert.pem"), "not a certificate");
        Listener.Tcp tcp = Listener.Tcp.secure("127.0.0.1", 0, new TlsSettings(garbage, garbage, null));
        assertThatThrownBy(() -> start(Duration.ofSeconds(1), new Listener.Unix(dir.resolve("a.sock"), 0600), tcp))
                .isInstanceOf(IOException.class).hasMessageContaining("cannot load TLS certificate").hasMessageContaining("cert.pem");
        assertThat(dir.resolve("a.sock")).as("listeners bound before the failure are released").doesNotExist();
    }

    static SSLContext sslContext(TestCerts certs, boolean withClientCertificate) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", cf.generateCertificate(Files.newInputStream(certs.caCert)));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (withClientCertificate) {
            String pem = Files.readString(certs.clientKey).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
            PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
            Certificate cert = cf.generateCertificate(new ByteArrayInputStream(Files.readAllBytes(certs.clientCert)));
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("client", key, new char[0], new Certificate[] {cert});
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, new char[0]);
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }
}
