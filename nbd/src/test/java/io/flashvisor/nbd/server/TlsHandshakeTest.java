package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.nbd.TestCerts;
import io.flashvisor.nbd.TlsSettings;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** FORCEDTLS behaviour of a TLS listener, up to the point where the TLS handshake starts. */
@org.junit.jupiter.api.extension.ExtendWith(io.flashvisor.nbd.NettyLeakCheck.class)
class TlsHandshakeTest {
    static SslContext ssl;

    @BeforeAll
    static void certificates() throws Exception {
        TestCerts certs = TestCerts.get();
        ssl = TlsContexts.forServer(new TlsSettings(certs.serverCert, certs.serverKey, null));
    }

    private static TestConnection connect() {
        return new TestConnection(HandshakeHandlerTest.catalog(), 1 << 20, Runnable::run, new ConnectionRegistry(), ssl);
    }

    @ParameterizedTest
    @ValueSource(ints = {OPT_LIST, OPT_INFO, OPT_GO, OPT_STRUCTURED_REPLY, OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT, 99})
    void everyOptionButStartTlsAndAbortNeedsTls(int option) {
        try (TestConnection c = connect()) {
            c.greet();
            TestConnection.OptionReply r = c.option(option, Frames.exportQuery("disk"));
            assertThat(r.type()).isEqualTo(REP_ERR_TLS_REQD);
            assertThat(r.option()).isEqualTo(option);
            assertThat(c.isOpen()).isTrue();
        }
    }

    @Test
    void exportNameBeforeTlsDisconnects() {
        try (TestConnection c = connect()) {
            c.greet();
            c.send(Frames.option(OPT_EXPORT_NAME, "disk".getBytes()));
            assertThat(c.isOpen()).isFalse();
            assertThat(c.available()).isZero();
        }
    }

    @Test
    void abortWorksBeforeTls() {
        try (TestConnection c = connect()) {
            c.greet();
            assertThat(c.option(OPT_ABORT, new byte[0]).type()).isEqualTo(REP_ACK);
            assertThat(c.isOpen()).isFalse();
        }
    }

    @Test
    void startTlsIsAcknowledgedInPlaintextThenTlsTakesOver() {
        try (TestConnection c = connect()) {
            c.greet();
            assertThat(c.option(OPT_STARTTLS, new byte[] {1}).type()).isEqualTo(REP_ERR_INVALID);
            TestConnection.OptionReply r = c.option(OPT_STARTTLS, new byte[0]);
            assertThat(r.type()).isEqualTo(REP_ACK);
            assertThat(c.channel.pipeline().first()).isInstanceOf(SslHandler.class);
            assertThat(c.channel.pipeline().names()).startsWith(HandshakeHandler.TLS);
        }
    }

    @Test
    void plaintextSentBeforeTheStartTlsReplyDisconnects() {
        try (TestConnection c = connect()) {
            c.greet();
            c.send(Frames.option(OPT_STARTTLS), Frames.option(OPT_LIST));
            assertThat(c.isOpen()).isFalse();
        }
    }
}
