package io.flashvisor.replication.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HandshakesTest {
    private final ClusterSecret secret = ClusterSecret.of("a cluster secret of 32 bytes....".getBytes(StandardCharsets.US_ASCII));
    private final ClusterSecret other = ClusterSecret.of("another secret of 32 bytes......".getBytes(StandardCharsets.US_ASCII));
    private final Hello hello = new Hello(1, FrameFormat.DEFAULT_MAX_PAYLOAD, Handshakes.newNonce());
    private final Challenge challenge = new Challenge(2, FrameFormat.DEFAULT_MAX_PAYLOAD, 256, Handshakes.newNonce());
    private final byte[] transcript = Handshakes.transcript(hello, challenge);

    @Test
    void aProofVerifiesOnlyForItsRoleSecretAndTranscript() {
        Proof client = Handshakes.proof(secret, Handshakes.Role.CLIENT, transcript);
        assertThat(Handshakes.verify(secret, Handshakes.Role.CLIENT, transcript, client)).isTrue();
        assertThat(Handshakes.verify(secret, Handshakes.Role.SERVER, transcript, client)).as("reflected").isFalse();
        assertThat(Handshakes.verify(other, Handshakes.Role.CLIENT, transcript, client)).as("other secret").isFalse();
        byte[] otherHosts = Handshakes.transcript(new Hello(3, hello.maxPayload(), hello.nonce()), challenge);
        assertThat(Handshakes.verify(secret, Handshakes.Role.CLIENT, otherHosts, client)).as("host id bound in").isFalse();
        byte[] otherNonce = Handshakes.transcript(hello, new Challenge(2, challenge.maxPayload(), 256, Handshakes.newNonce()));
        assertThat(Handshakes.verify(secret, Handshakes.Role.CLIENT, otherNonce, client)).as("fresh server nonce").isFalse();
    }

    @Test
    void eachDirectionAndEachConnectionHasItsOwnKey() {
        Handshakes.SessionKeys k = Handshakes.sessionKeys(secret, transcript);
        assertThat(k.clientToServer()).isNotEqualTo(k.serverToClient());
        Handshakes.SessionKeys again = Handshakes.sessionKeys(secret, transcript);
        assertThat(again.clientToServer()).isEqualTo(k.clientToServer());
        byte[] t2 = Handshakes.transcript(new Hello(1, hello.maxPayload(), Handshakes.newNonce()), challenge);
        assertThat(Handshakes.sessionKeys(secret, t2).clientToServer()).isNotEqualTo(k.clientToServer());
        assertThat(k.toString()).doesNotContain("[B@");
    }

    @Test
    void secretsAreLongEnoughAndNeverPrinted() {
        assertThatThrownBy(() -> ClusterSecret.of(new byte[15])).hasMessageContaining("at least 16");
        assertThatThrownBy(() -> ClusterSecret.fromBase64("not base64!")).hasMessageContaining("base64");
        assertThat(ClusterSecret.fromBase64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")).hasToString("ClusterSecret[hidden]");
    }
}
