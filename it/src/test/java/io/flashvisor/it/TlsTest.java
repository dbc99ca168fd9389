package io.flashvisor.it;

import static io.flashvisor.nbd.wire.NbdConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** TCP with TLS (certificates made by openssl at test time), and the refusal of plaintext TCP unless asked for. */
@Timeout(180)
class TlsTest {

    @RegisterExtension
    static final TestKit shared = new TestKit();

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final long MiB = 1 << 20;
    private static Certs certs;

    @BeforeAll
    static void makeCertificates() throws Exception {
        certs = Certs.create(shared.file("pki"));
    }

    private static String withCerts(String uri, Path dir) {
        return uri + (uri.contains("?") ? "&" : "?") + "tls-certificates=" + dir;
    }

    @Test
    void tlsListenerServesNbdsClientsAndRefusesPlaintext() throws Exception {
        Path img = kit.file("secure.img");
        Tools.sparseFile(img, 32 * MiB);
        FlashvisorProcess fv = kit.serve(img.toString(), "--listen", "127.0.0.1:0", "--tls-cert", certs.serverCert().toString(),
                "--tls-key", certs.serverKey().toString());
        String uri = fv.uri();
        assertThat(uri).startsWith("nbds://127.0.0.1:").endsWith("/secure");
        int port = FlashvisorProcess.portOf(uri);

        // libnbd (nbdinfo) with the CA in its certificates directory.
        JsonNode info = Tools.nbdinfoJson(withCerts(uri, certs.clientDir()));
        assertThat(info.path("TLS").asBoolean()).isTrue();
        assertThat(NbdInfoTest.single(info).path("export-size").asLong()).isEqualTo(32 * MiB);

        // QEMU with tls-creds-x509: write through TLS, read back through TLS.
        List<String> object = List.of("--object", "tls-creds-x509,dir=" + certs.clientDir() + ",endpoint=client,id=tls0");
        String opts = "driver=nbd,host=127.0.0.1,port=" + port + ",export=secure,tls-creds=tls0";
        List<String> write = new java.util.ArrayList<>(List.of("qemu-io"));
        write.addAll(object);
        write.addAll(List.of("--image-opts", "-c", "write -P 0x7e 1M 3M", "-c", "read -P 0x7e 1M 3M", opts));
        Tools.Result w = Tools.run(Tools.SHORT, write).ok();
        assertThat(w.output()).doesNotContain("Pattern verification failed");
        List<String> imgInfo = new java.util.ArrayList<>(List.of("qemu-img", "info"));
        imgInfo.addAll(object);
        imgInfo.addAll(List.of("--image-opts", opts));
        assertThat(Tools.run(Tools.SHORT, imgInfo).ok().stdout()).contains("virtual size: 32 MiB");
        assertThat(Tools.readRange(img, MiB, (int) (3 * MiB))).containsOnly((byte) 0x7e);

        // Plaintext clients are told TLS is required.
        Tools.run(Tools.SHORT, "nbdinfo", "--json", "nbd://127.0.0.1:" + port + "/secure").failed();
        try (RawNbdClient c = RawNbdClient.tcp("127.0.0.1", port)) {
            int flags = c.readGreeting();
            assertThat(flags & FLAG_FIXED_NEWSTYLE).isNotZero();
            c.sendClientFlags(FLAG_C_FIXED_NEWSTYLE | (flags & FLAG_NO_ZEROES));
            byte[] name = "secure".getBytes(StandardCharsets.UTF_8);
            c.sendOption(OPT_GO, java.nio.ByteBuffer.allocate(4 + name.length + 2).putInt(name.length).put(name).putShort((short) 0).array());
            RawNbdClient.OptionReply r = c.readOptionReply();
            assertThat(r.type()).as("reply to NBD_OPT_GO before STARTTLS: 0x%x", r.type()).isEqualTo(REP_ERR_TLS_REQD);
            c.sendOption(OPT_LIST, new byte[0]);
            assertThat(c.readOptionReply().type()).as("reply to NBD_OPT_LIST before STARTTLS").isEqualTo(REP_ERR_TLS_REQD);
            c.sendOption(OPT_ABORT, new byte[0]);
        }
        // A client that does not trust the server's CA cannot connect.
        Tools.Result untrusted = Tools.run(Tools.SHORT, "nbdinfo", "--json", withCerts(uri, certs.untrustingDir())).failed();
        assertThat(untrusted.stderr()).contains("certificate");

        assertThat(fv.isAlive()).isTrue();
        assertThat(fv.stop(Duration.ofSeconds(40))).isZero();
    }

    @Test
    void clientCertificatesWhenAClientCaIsGiven() throws Exception {
        Path img = kit.file("mtls.img");
        Tools.sparseFile(img, 8 * MiB);
        FlashvisorProcess fv = kit.serve(img.toString(), "--listen", "127.0.0.1:0", "--tls-cert", certs.serverCert().toString(),
                "--tls-key", certs.serverKey().toString(), "--tls-client-ca", certs.caCert().toString());
        String uri = fv.uri();
        JsonNode ok = Tools.nbdinfoJson(withCerts(uri, certs.clientWithCertDir()));
        assertThat(NbdInfoTest.single(ok).path("export-size").asLong()).isEqualTo(8 * MiB);
        // Without a client certificate the TLS handshake fails.
        Tools.run(Tools.SHORT, "nbdinfo", "--json", withCerts(uri, certs.clientDir())).failed();
        assertThat(fv.isAlive()).isTrue();
    }

    @Test
    void plaintextTcpNeedsInsecure() throws Exception {
        Path img = kit.file("plain.img");
        Tools.sparseFile(img, 4 * MiB);
        FlashvisorProcess refused = kit.flashvisor("flashvisor serve --listen (no TLS)", "serve", img.toString(), "--listen", "127.0.0.1:0");
        int code = refused.awaitExit(Duration.ofSeconds(60));
        assertThat(code).as(refused.output()).isNotZero();
        assertThat(refused.stdout()).doesNotContain("ready ");
        assertThat(refused.stderr()).as("the message says what to do").contains("--insecure").contains("--tls-cert");

        FlashvisorProcess plain = kit.serve(img.toString(), "--listen", "127.0.0.1:0", "--insecure");
        assertThat(plain.uri()).startsWith("nbd://127.0.0.1:");
        JsonNode info = Tools.nbdinfoJson(plain.uri());
        assertThat(info.path("TLS").asBoolean()).isFalse();
        assertThat(NbdInfoTest.single(info).path("export-size").asLong()).isEqualTo(4 * MiB);
    }
}
