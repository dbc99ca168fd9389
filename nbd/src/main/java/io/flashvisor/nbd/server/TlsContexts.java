package io.flashvisor.nbd.server;

import io.flashvisor.nbd.TlsSettings;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;

/**
 * Builds the server-side TLS context of a listener from PEM files: TLS 1.3 and 1.2 only (the spec
 * requires 1.2 and advises against older versions), the JDK provider, and client certificates
 * required when a client CA is configured.
 */
final class TlsContexts {
    private TlsContexts() {
    }

    static SslContext forServer(TlsSettings tls) throws IOException {
        try {
            SslContextBuilder b = SslContextBuilder.forServer(tls.certificateChain().toFile(), tls.privateKey().toFile())
                    .sslProvider(SslProvider.JDK)
                    .protocols("TLSv1.3", "TLSv1.2");
            if (tls.clientCa() != null) {
                b.trustManager(tls.clientCa().toFile()).clientAuth(ClientAuth.REQUIRE);
            }
            return b.build();
        } catch (Exception e) {
            throw new IOException("cannot load TLS certificate " + tls.certificateChain() + " / key " + tls.privateKey()
                    + (tls.clientCa() != null ? " / client CA " + tls.clientCa() : "")
                    + ": " + e.getMessage() + " (the key must be an unencrypted PKCS#8 PEM file)", e);
        }
    }
}
