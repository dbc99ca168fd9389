package io.flashvisor.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A throw-away PKI made with {@code openssl} at test time: a CA, a server certificate for
 * 127.0.0.1/localhost signed by it, a client certificate signed by it, and an unrelated CA.
 *
 * <p>Keys are ECDSA P-256. (With an RSA CA, whose certificates are signed with PKCS#1 v1.5, GnuTLS
 * clients — libnbd, QEMU — send no client certificate to a Java TLS 1.3 server: Java's
 * CertificateRequest lists only PSS/ECDSA/EdDSA in signature_algorithms, and GnuTLS ignores
 * signature_algorithms_cert.)
 *
 * <p>Also lays out the directories NBD clients expect: libnbd and QEMU's {@code tls-creds-x509}
 * read {@code ca-cert.pem} (and, for client certificates, {@code client-cert.pem} and
 * {@code client-key.pem}) from a directory.
 */
public record Certs(Path dir, Path caCert, Path serverCert, Path serverKey, Path clientDir, Path clientWithCertDir, Path untrustingDir) {

    private static final Duration T = Duration.ofSeconds(60);

    public static Certs create(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path caKey = dir.resolve("ca-key.pem");
        Path caCert = dir.resolve("ca-cert.pem");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", caKey.toString(),
                "-out", caCert.toString(), "-days", "2", "-subj", "/CN=Flashvisor test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");

        Path serverKey = dir.resolve("server-key.pem");
        Path serverCert = dir.resolve("server-cert.pem");
        sign(dir, "server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
                caCert, caKey, serverKey, serverCert);

        Path clientKey = dir.resolve("client-key.pem");
        Path clientCert = dir.resolve("client-cert.pem");
        sign(dir, "client", "/CN=flashvisor-test-client", "extendedKeyUsage=clientAuth\n", caCert, caKey, clientKey, clientCert);

        Path clientDir = dir.resolve("client-ca-only");
        Files.createDirectories(clientDir);
        Files.copy(caCert, clientDir.resolve("ca-cert.pem"));

        Path clientWithCert = dir.resolve("client-with-cert");
        Files.createDirectories(clientWithCert);
        Files.copy(caCert, clientWithCert.resolve("ca-cert.pem"));
        Files.copy(clientCert, clientWithCert.resolve("client-cert.pem"));
        Files.copy(clientKey, clientWithCert.resolve("client-key.pem"));
        // A client that trusts another CA only (an empty directory would make libnbd skip verification).
        Path untrusting = dir.resolve("client-other-ca");
        Files.createDirectories(untrusting);
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                untrusting.resolve("other-ca-key.pem").toString(),
                "-out", untrusting.resolve("ca-cert.pem").toString(), "-days", "2", "-subj", "/CN=Some other CA",
                "-addext", "basicConstraints=critical,CA:TRUE");
        return new Certs(dir, caCert, serverCert, serverKey, clientDir, clientWithCert, untrusting);
    }

    /** A cluster host's certificate and key for peer TLS (cluster.peer-tls), signed by the CA. */
    public record PeerCert(Path cert, Path key) {
    }

    /** Issues {@code CN=name} for both TLS server and client use (a host is both), its key mode 0600. */
    public PeerCert peer(String name) throws IOException {
        Path key = dir.resolve(name + "-peer-key.pem");
        Path cert = dir.resolve(name + "-peer-cert.pem");
        sign(dir, name + "-peer", "/CN=" + name, "extendedKeyUsage=serverAuth,clientAuth\n", caCert, dir.resolve("ca-key.pem"), key, cert);
        Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return new PeerCert(cert, key);
    }

    private static void sign(Path dir, String name, String subject, String extensions, Path caCert, Path caKey, Path key, Path cert)
            throws IOException {
        Path csr = dir.resolve(name + ".csr");
        Path ext = dir.resolve(name + ".ext");
        // genpkey writes PKCS#8 ("BEGIN PRIVATE KEY"), which is what the server reads.
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
        openssl("req", "-new", "-key", key.toString(), "-out", csr.toString(), "-subj", subject);
        Files.writeString(ext, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" + extensions);
        openssl("x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(), "-CAcreateserial",
                "-out", cert.toString(), "-days", "2", "-extfile", ext.toString());
    }

    private static void openssl(String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "openssl";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Tools.run(T, cmd).ok();
    }
}
