package io.flashvisor.replication.transport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away PKI for peer TLS made with the {@code openssl} CLI (as the NBD tests' TestCerts):
 * the cluster CA with two host certificates (serverAuth and clientAuth: a host is both), and another
 * CA with a host certificate of its own. EC P-256, keys unencrypted PKCS#8. One set per test JVM.
 */
final class PeerCerts {
    final Path dir;
    final Path ca;
    final Host hostA;
    final Host hostB;
    final Path otherCa;
    final Host stranger;
    /** Both CAs in one file: the stranger trusts us, so only our side's check can refuse it. */
    final Path bothCas;

    record Host(Path cert, Path key) {
        PeerTls tls(Path ca) throws IOException {
            return PeerTls.load(cert, key, ca);
        }
    }

    private static PeerCerts cached;

    private PeerCerts(Path dir) {
        this.dir = dir;
        this.ca = dir.resolve("ca-cert.pem");
        this.hostA = new Host(dir.resolve("a-cert.pem"), dir.resolve("a-key.pem"));
        this.hostB = new Host(dir.resolve("b-cert.pem"), dir.resolve("b-key.pem"));
        this.otherCa = dir.resolve("other-ca-cert.pem");
        this.stranger = new Host(dir.resolve("x-cert.pem"), dir.resolve("x-key.pem"));
        this.bothCas = dir.resolve("both-ca.pem");
    }

    static synchronized PeerCerts get() throws IOException, InterruptedException {
        if (cached == null) {
            Path dir = Files.createTempDirectory("peer-tls-pki");
            dir.toFile().deleteOnExit();
            PeerCerts c = new PeerCerts(dir);
            c.generate();
            try (var files = Files.list(dir)) {
                files.forEach(f -> f.toFile().deleteOnExit());
            }
            cached = c;
        }
        return cached;
    }

    private void generate() throws IOException, InterruptedException {
        Path caKey = dir.resolve("ca-key.pem");
        ca(caKey, ca, "flashvisor test cluster CA");
        issue("hv-a", hostA, ca, caKey);
        issue("hv-b", hostB, ca, caKey);
        Path otherKey = dir.resolve("other-ca-key.pem");
        ca(otherKey, otherCa, "some other CA");
        issue("hv-x", stranger, otherCa, otherKey);
        Files.writeString(bothCas, Files.readString(otherCa) + Files.readString(ca));
    }

    private void ca(Path key, Path cert, String cn) throws IOException, InterruptedException {
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
        openssl("req", "-x509", "-new", "-key", key.toString(), "-subj", "/CN=" + cn, "-days", "2",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-out", cert.toString());
    }

    private void issue(String cn, Host host, Path caCert, Path caKey) throws IOException, InterruptedException {
        Path csr = dir.resolve(cn + ".csr");
        Path ext = dir.resolve(cn + ".ext");
        Files.writeString(ext, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                + "extendedKeyUsage=serverAuth,clientAuth\n");
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", host.key().toString());
        openssl("req", "-new", "-key", host.key().toString(), "-subj", "/CN=" + cn, "-out", csr.toString());
        openssl("x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(),
                "-CAcreateserial", "-days", "2", "-extfile", ext.toString(), "-out", host.cert().toString());
    }

    private void openssl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("openssl " + String.join(" ", args) + " failed: " + out);
        }
    }
}
