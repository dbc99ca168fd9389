package io.flashvisor.nbd;

import java.nio.file.Path;
import java.util.Objects;

/**
 * X.509 TLS for a TCP listener (NBD {@code STARTTLS}). When set, the listener is in NBD's "forced
 * TLS" mode: every option other than {@code STARTTLS} and {@code ABORT} is refused with
 * {@code NBD_REP_ERR_TLS_REQD} until TLS is up.
 *
 * @param certificateChain PEM file with the server certificate (and intermediates)
 * @param privateKey       PEM file with the server's PKCS#8 private key
 * @param clientCa         PEM file of CA certificates; if non-null, clients must present a certificate
 *                         signed by one of them (mutual TLS), otherwise any client may connect
 */
public record TlsSettings(Path certificateChain, Path privateKey, Path clientCa) {
    public TlsSettings {
        Objects.requireNonNull(certificateChain, "certificateChain");
        Objects.requireNonNull(privateKey, "privateKey");
    }
}
