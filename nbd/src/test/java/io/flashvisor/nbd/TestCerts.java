package io.flashvisor.nbd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Generates a throw-away PKI with the {@code openssl} CLI: a CA, a server certificate for
 * localhost/127.0.0.1 and a client certificate, all EC P-256, keys as unencrypted PKCS#8. The file
 * names are those libnbd/GnuTLS expect in a {@code tls-certificates} directory.
 */
public final class TestCerts {
    public final Path dir;
    public final Path caCert;
    public final Path serverCert;
    public final Path serverKey;
    public final Path clientCert;
    public final Path clientKey;

    private TestCerts(Path dir) {
        this.dir = dir;
        this.caCert = dir.resolve("ca-cert.pem");
        this.serverCert = dir.resolve("server-cert.pem");
        this.serverKey = dir.resolve("server-key.pem");
        this.clientCert = dir.resolve("client-cert.pem");
        this.clientKey = dir.resolve("client-key.pem");
    }

    private static TestCerts cached;

    /** One set per test JVM: generating keys takes a moment. */
    public static synchronized TestCerts get() throws IOException, InterruptedException {
        if (cached == null) {
            Path dir = Files.createTempDirectory("nbd-test-pki");
            dir.toFile().deleteOnExit();
            TestCerts c = new TestCerts(dir);
            c.generate();
            try (var files = Files.list(dir)) {
                files.forEach(f -> f.toFile().deleteOnExit()); // registered after the directory: deleted before it
            }
            cached = c;
        }
        return cached;
    }

    private void generate() throws IOException, InterruptedException {
        Path caKey = dir.resolve("ca-key.pem");
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", caKey.toString());
        openssl("req", "-x509", "-new", "-key", caKey.toString(), "-subj", "/CN=flashvisor test CA", "-days", "2",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-out", caCert.toString());
        issue("server", serverKey, serverCert, caKey, "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        issue("client", clientKey, clientCert, caKey, "extendedKeyUsage=clientAuth\n");
    }

    private void issue(String cn, Path key, Path cert, Path caKey, String extensions) throws IOException, InterruptedException {
        Path csr = dir.resolve(cn + ".csr");
        Path ext = dir.resolve(cn + ".ext");
        Files.writeString(ext, extensions);
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
        openssl("req", "-new", "-key", key.toString(), "-subj", "/CN=" + cn, "-out", csr.toString());
        openssl("x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(),
                "-CAcreateserial", "-days", "2", "-extfile", ext.toString(), "-out", cert.toString());
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
