package io.flashvisor.replication.transport;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.Base64;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.SSLException;

/**
 * Mutual TLS under the peer protocol (docs/replication.md, "Authentication and keys"): every host
 * presents its certificate and requires the peer's, signed by the cluster's CA, in both directions
 * (the server requires a client certificate). TLS 1.3 only — both ends are Flashvisor on a JDK that
 * has it — with the JDK provider, as the NBD listener's TLS.
 *
 * <p>Trust is the CA alone: no host-name check (peers dial the addresses in ZooKeeper, and which host
 * a connection belongs to is what the HMAC handshake above proves, with the cluster secret). Use a
 * CA that signs this cluster's hosts only. A host's certificate serves both as server and as client
 * certificate, so if it has an extended key usage, it needs {@code serverAuth,clientAuth}.
 *
 * <p>{@link #load} reads and checks the files once (at config load); the contexts are then reused for
 * every connection.
 */
public final class PeerTls {
    private static final List<String> PROTOCOLS = List.of("TLSv1.3");

    private final Path certificate;
    private final Path key;
    private final Path ca;
    private final String subject;
    private final SslContext server;
    private final SslContext client;

    private PeerTls(Path certificate, Path key, Path ca, String subject, SslContext server, SslContext client) {
        this.certificate = certificate;
        this.key = key;
        this.ca = ca;
        this.subject = subject;
        this.server = server;
        this.client = client;
    }

    /**
     * Reads this host's certificate chain and PKCS#8 key and the CA's certificates (PEM), and builds the
     * server and client contexts.
     *
     * @throws IOException naming the file at fault: unreadable, not PEM, a key that does not parse or
     *                     is not the certificate's, a certificate outside its validity period, one
     *                     not for both TLS server and client use, or not signed by the CA
     */
    public static PeerTls load(Path certificate, Path key, Path ca) throws IOException {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(ca, "ca");
        List<X509Certificate> chain = certificates(certificate, "certificate");
        X509Certificate own = chain.getFirst();
        String subject = own.getSubjectX500Principal().getName();
        try {
            own.checkValidity();
        } catch (CertificateExpiredException | CertificateNotYetValidException e) {
            throw new IOException("certificate " + certificate + " (" + subject + ") is not valid now: valid from "
                    + own.getNotBefore().toInstant() + " to " + own.getNotAfter().toInstant());
        }
        checkUsage(certificate, own);
        List<X509Certificate> cas = certificates(ca, "CA");
        PrivateKey privateKey = privateKey(key, own);
        checkPair(certificate, key, own, privateKey);
        checkSignedBy(certificate, chain, ca, cas);
        X509Certificate[] chainArray = chain.toArray(X509Certificate[]::new);
        X509Certificate[] casArray = cas.toArray(X509Certificate[]::new);
        SslContext server;
        SslContext client;
        try {
            server = SslContextBuilder.forServer(privateKey, chainArray)
                    .sslProvider(SslProvider.JDK).protocols(PROTOCOLS)
                    .trustManager(casArray).clientAuth(ClientAuth.REQUIRE)
                    .build();
            client = SslContextBuilder.forClient()
                    .sslProvider(SslProvider.JDK).protocols(PROTOCOLS)
                    .keyManager(privateKey, chainArray)
                    .trustManager(casArray)
                    .endpointIdentificationAlgorithm(null) // trust = the cluster CA; the host id is proven above TLS
                    .build();
        } catch (SSLException | RuntimeException e) {
            throw new IOException("cannot use certificate " + certificate + " / key " + key + " / CA " + ca + ": " + e.getMessage(), e);
        }
        return new PeerTls(certificate, key, ca, subject, server, client);
    }

    private static List<X509Certificate> certificates(Path file, String what) throws IOException {
        Collection<? extends Certificate> certs;
        try (InputStream in = Files.newInputStream(file)) {
            certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
        } catch (CertificateException e) {
            throw new IOException(what + " file " + file + " holds no readable PEM certificate: " + e.getMessage(), e);
        }
        if (certs.isEmpty()) {
            throw new IOException(what + " file " + file + " holds no certificate (expected PEM, 'BEGIN CERTIFICATE')");
        }
        return certs.stream().map(X509Certificate.class::cast).toList();
    }

    /** A host is TLS server and client: an extended key usage, if present, must allow both. */
    private static void checkUsage(Path file, X509Certificate cert) throws IOException {
        try {
            List<String> eku = cert.getExtendedKeyUsage();
            if (eku != null && !eku.contains("2.5.29.37.0")
                    && !(eku.contains("1.3.6.1.5.5.7.3.1") && eku.contains("1.3.6.1.5.5.7.3.2"))) {
                throw new IOException("certificate " + file + " (" + cert.getSubjectX500Principal().getName() + ") does not allow "
                        + "both TLS server and client use; a host is both: issue it with 'extendedKeyUsage=serverAuth,clientAuth'");
            }
        } catch (CertificateParsingException e) {
            throw new IOException("certificate " + file + ": unreadable extended key usage: " + e.getMessage(), e);
        }
    }

    /** The unencrypted PKCS#8 key, of the certificate's key algorithm. */
    private static PrivateKey privateKey(Path file, X509Certificate cert) throws IOException {
        String pem = Files.readString(file, StandardCharsets.US_ASCII);
        String begin = "-----BEGIN PRIVATE KEY-----";
        String end = "-----END PRIVATE KEY-----";
        int from = pem.indexOf(begin);
        int to = pem.indexOf(end);
        if (from < 0 || to < from) {
            throw new IOException("key " + file + " is not an unencrypted PKCS#8 PEM file ('BEGIN PRIVATE KEY'; convert with "
                    + "'openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW')");
        }
        try {
            byte[] der = Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
            return KeyFactory.getInstance(cert.getPublicKey().getAlgorithm()).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new IOException("key " + file + " is not a readable " + cert.getPublicKey().getAlgorithm()
                    + " PKCS#8 key (the certificate's key type): " + e.getMessage(), e);
        }
    }

    /** Signs with the key and verifies with the certificate: a key from another pair fails here, not at the first handshake. */
    private static void checkPair(Path certFile, Path keyFile, X509Certificate cert, PrivateKey key) throws IOException {
        String algorithm = switch (cert.getPublicKey().getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            case "Ed448" -> "Ed448";
            default -> null; // (RSASSA-PSS: the handshake will tell)
        };
        if (algorithm == null) {
            return;
        }
        try {
            byte[] probe = "flashvisor peer-tls key check".getBytes(StandardCharsets.US_ASCII);
            Signature sign = Signature.getInstance(algorithm);
            sign.initSign(key);
            sign.update(probe);
            byte[] signature = sign.sign();
            Signature verify = Signature.getInstance(algorithm);
            verify.initVerify(cert.getPublicKey());
            verify.update(probe);
            if (!verify.verify(signature)) {
                throw new IOException("key " + keyFile + " is not the key of certificate " + certFile + " ("
                        + cert.getSubjectX500Principal().getName() + ")");
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("key " + keyFile + " is not the key of certificate " + certFile + ": " + e.getMessage(), e);
        }
    }

    /** This host's certificate must itself chain to the CA its peers trust, or no peer would accept it. */
    private static void checkSignedBy(Path certFile, List<X509Certificate> chain, Path caFile, List<X509Certificate> cas)
            throws IOException {
        try {
            Set<TrustAnchor> anchors = new HashSet<>();
            for (X509Certificate c : cas) {
                anchors.add(new TrustAnchor(c, null));
            }
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(chain), params);
        } catch (CertPathValidatorException e) {
            throw new IOException("certificate " + certFile + " (" + chain.getFirst().getSubjectX500Principal().getName()
                    + ") is not signed by the CA in " + caFile + " (peers check each other's against the same CA): "
                    + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot check certificate " + certFile + " against the CA in " + caFile + ": " + e.getMessage(), e);
        }
    }

    /** A server-side handler: client certificate required; the handshake must end within {@code timeout}. */
    SslHandler newServerHandler(ByteBufAllocator alloc, Duration timeout) {
        SslHandler h = server.newHandler(alloc);
        h.setHandshakeTimeoutMillis(timeout.toMillis());
        return h;
    }

    /** A client-side handler for a connection to {@code peer}. */
    SslHandler newClientHandler(ByteBufAllocator alloc, InetSocketAddress peer, Duration timeout) {
        SslHandler h = client.newHandler(alloc, peer.getHostString(), peer.getPort());
        h.setHandshakeTimeoutMillis(timeout.toMillis());
        return h;
    }

    public Path certificate() {
        return certificate;
    }

    public Path key() {
        return key;
    }

    public Path ca() {
        return ca;
    }

    /** The subject of this host's certificate. */
    public String subject() {
        return subject;
    }

    @Override
    public String toString() {
        return "PeerTls[cert " + certificate + " (" + subject + "), ca " + ca + "]";
    }
}
