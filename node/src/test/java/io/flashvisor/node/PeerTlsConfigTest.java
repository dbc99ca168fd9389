package io.flashvisor.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code cluster.peer-tls}: read and checked at config load; without it, one warning at start unless on loopback. */
class PeerTlsConfigTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void pki() throws Exception {
        NodeClusterTest.writeSecret(dir.resolve("secret"));
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca-key.pem");
        openssl("req", "-x509", "-new", "-key", "ca-key.pem", "-subj", "/CN=test cluster CA", "-days", "2",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", "-out", "ca.pem");
        host("hv1", "extendedKeyUsage=serverAuth,clientAuth\n");
        host("srv", "extendedKeyUsage=serverAuth\n"); // a web server's certificate: no client use
    }

    private static void host(String name, String ext) throws Exception {
        Files.writeString(dir.resolve(name + ".ext"), ext);
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name + "-key.pem");
        openssl("req", "-new", "-key", name + "-key.pem", "-subj", "/CN=" + name, "-out", name + ".csr");
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", "2",
                "-extfile", name + ".ext", "-out", name + "-cert.pem");
        Files.setPosixFilePermissions(dir.resolve(name + "-key.pem"), PosixFilePermissions.fromString("rw-------"));
    }

    private static void openssl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("openssl " + String.join(" ", args) + " failed: " + out);
        }
    }

    private static NodeSettings parse(String peerTls) throws ConfigException {
        return ConfigLoader.parse("""
                listeners: [{unix: x.sock}]
                flash: {device: flash.img, size: 1G}
                cluster:
                  name: prod
                  host-id: hv1
                  zookeeper: zk1:2181
                  peer-listen: 10.0.0.1:7400
                  secret-file: secret
                  peer-tls: %s
                volumes: [{name: vm1, backing: /a.img, policy: write-back, replicas: 1}]
                """.formatted(peerTls), "tls.yaml", dir);
    }

    private static List<String> problems(String peerTls) {
        try {
            parse(peerTls);
        } catch (ConfigException e) {
            return e.problems();
        }
        throw new AssertionError("no problem found in peer-tls " + peerTls);
    }

    @Test
    void peerTlsIsLoadedWithPathsRelativeToTheConfig() throws Exception {
        ClusterSpec c = parse("{cert: hv1-cert.pem, key: hv1-key.pem, ca: ca.pem}").cluster();
        assertThat(c.peerTls()).isNotNull();
        assertThat(c.peerTls().certificate()).isEqualTo(dir.resolve("hv1-cert.pem"));
        assertThat(c.peerTls().key()).isEqualTo(dir.resolve("hv1-key.pem"));
        assertThat(c.peerTls().ca()).isEqualTo(dir.resolve("ca.pem"));
        assertThat(c.peerTls().subject()).isEqualTo("CN=hv1");
    }

    @Test
    void missingAndUnreadableFilesAreNamed() {
        assertThat(problems("{cert: nowhere.pem, ca: ca.pem}")).containsExactly(
                "cluster.peer-tls.cert: '" + dir.resolve("nowhere.pem") + "' is not a readable file",
                "cluster.peer-tls.key: missing; this host's private key (PEM, PKCS#8), readable by its owner only");
        assertThat(problems("{cert: hv1-cert.pem, key: hv1-key.pem}")).containsExactly("cluster.peer-tls.ca: missing; a PEM file");
        assertThatThrownBy(() -> parse("{cert: hv1-cert.pem, key: hv1-key.pem, ca: ca.pem, client-ca: ca.pem}"))
                .hasMessageContaining("unknown field 'client-ca'").hasMessageContaining("ca, cert, key");
    }

    @Test
    void aKeyReadableByGroupOrOthersIsRefusedLikeTheSecret() throws Exception {
        Path loose = dir.resolve("loose-key.pem");
        Files.copy(dir.resolve("hv1-key.pem"), loose);
        Files.setPosixFilePermissions(loose, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(problems("{cert: hv1-cert.pem, key: loose-key.pem, ca: ca.pem}")).containsExactly(
                "cluster.peer-tls.key: '" + loose + "' is accessible to group or others (rw-r--r--); anyone who reads the key "
                        + "can pose as this host to TLS: run 'chmod 600 " + loose + "'");
    }

    @Test
    void contentsAreCheckedAtLoadNotAtTheFirstHandshake() throws Exception {
        assertThat(problems("{cert: hv1-cert.pem, key: ca-key.pem, ca: ca.pem}")).singleElement().asString()
                .startsWith("cluster.peer-tls: key " + dir.resolve("ca-key.pem") + " is not the key of certificate");
        assertThat(problems("{cert: ca.pem, key: ca-key.pem, ca: hv1-cert.pem}")).singleElement().asString()
                .contains("is not signed by the CA in " + dir.resolve("hv1-cert.pem"));
        assertThat(problems("{cert: srv-cert.pem, key: srv-key.pem, ca: ca.pem}")).singleElement().asString()
                .contains("does not allow both TLS server and client use").contains("extendedKeyUsage=serverAuth,clientAuth");
        Path junk = Files.writeString(dir.resolve("junk.pem"), "not a certificate\n");
        assertThat(problems("{cert: junk.pem, key: hv1-key.pem, ca: ca.pem}")).singleElement().asString()
                .startsWith("cluster.peer-tls: certificate file " + junk + " holds no");
    }

    @Test
    void withoutTlsTheNodeWarnsUnlessThePeerListenerIsOnLoopback() throws Exception {
        ClusterSpec plain = ConfigLoader.parse("""
                listeners: [{unix: x.sock}]
                flash: {device: flash.img, size: 1G}
                cluster: {name: prod, host-id: hv1, zookeeper: "zk1:2181", peer-listen: "10.0.0.1:7400", secret-file: secret}
                volumes: [{name: vm1, backing: /a.img}]
                """, "plain.yaml", dir).cluster();
        assertThat(plain.peerTls()).isNull();
        assertThat(ClusterMembership.warnIfInClear(plain, new InetSocketAddress("10.0.0.1", 7400))).isTrue();
        assertThat(ClusterMembership.warnIfInClear(plain, new InetSocketAddress("0.0.0.0", 7400))).isTrue();
        assertThat(ClusterMembership.warnIfInClear(plain, new InetSocketAddress("127.0.0.1", 7400))).isFalse();
        assertThat(ClusterMembership.warnIfInClear(plain, new InetSocketAddress("::1", 7400))).isFalse();
        ClusterSpec tls = parse("{cert: hv1-cert.pem, key: hv1-key.pem, ca: ca.pem}").cluster();
        assertThat(ClusterMembership.warnIfInClear(tls, new InetSocketAddress("10.0.0.1", 7400))).isFalse();
    }
}
