package io.flashvisor.replication.transport;

import static io.flashvisor.replication.protocol.FrameFormat.*;
import static io.flashvisor.replication.transport.Fixture.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flashvisor.replication.NettyLeakCheck;
import io.flashvisor.replication.protocol.Ack;
import io.flashvisor.replication.protocol.ErrorCode;
import io.flashvisor.replication.protocol.ErrorMessage;
import io.flashvisor.replication.protocol.FrameMac;
import io.flashvisor.replication.protocol.Handshakes;
import io.flashvisor.replication.protocol.Hello;
import io.flashvisor.replication.protocol.MessageType;
import io.flashvisor.replication.protocol.Nack;
import io.flashvisor.replication.protocol.NackCode;
import io.flashvisor.replication.protocol.Ping;
import io.flashvisor.replication.protocol.Read;
import io.flashvisor.replication.protocol.Replicate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * I6 against a real server socket: every kind of bad input closes that one connection, with a
 * log line saying why, and writes nothing to the sink; a well-behaved peer connected all along
 * keeps replicating.
 */
@ExtendWith(NettyLeakCheck.class)
class ServerBadInputTest {
    private static final InMemoryReplicaSink SINK = new InMemoryReplicaSink();
    private static ReplicationServer server;
    private static PeerConnector connector;
    private static PeerClient goodPeer;
    private static long nextSequence = 1;

    private LogCapture log;
    private long replicatedBefore;

    @BeforeAll
    static void startServer() throws Exception {
        server = ReplicationServer.start(serverSettings().withHandshakeTimeout(Duration.ofMillis(500)), SINK);
        connector = PeerConnector.create(PeerConnector.Settings.of(CLIENT_HOST, SECRET));
        goodPeer = connector.connect(address(server), SERVER_HOST).get();
    }

    @AfterAll
    static void stop() {
        connector.close();
        server.close();
    }

    @BeforeEach
    void before() {
        log = new LogCapture();
        replicatedBefore = SINK.replicateCount();
    }

    @AfterEach
    void theServerStillServesOthers() throws Exception {
        log.close();
        assertThat(SINK.replicateCount()).as("nothing reached the sink").isEqualTo(replicatedBefore);
        goodPeer.replicate(replicate(nextSequence++, 100)).get();
        assertThat(goodPeer.isOpen()).isTrue();
        assertThat(SINK.replicateCount()).isEqualTo(replicatedBefore + 1);
    }

    private RawPeer raw() throws Exception {
        return new RawPeer(address(server));
    }

    private RawPeer authenticated() throws Exception {
        RawPeer p = raw();
        p.handshake(CLIENT_HOST, SECRET);
        return p;
    }

    private static ErrorMessage onlyError(List<RawPeer.RawFrame> frames) {
        assertThat(frames).hasSize(1);
        assertThat(frames.get(0).messageType()).isEqualTo(MessageType.ERROR);
        return (ErrorMessage) RawPeer.decode(frames.get(0));
    }

    private void assertLogged(String reason) {
        await().atMost(Duration.ofSeconds(10)).until(() -> log.contains(reason));
    }

    private static byte[] replicatePayload() {
        return RawPeer.payload(replicate(999, 1));
    }

    @Test
    void wrongMagic() throws Exception {
        try (RawPeer p = raw()) {
            p.sendRaw(p.frame(0xDEADBEEF, VERSION, MessageType.HELLO.code(), 0, 0, new byte[Hello.SIZE], null, false));
            assertThat(onlyError(p.awaitClose()).code()).isEqualTo(ErrorCode.PROTOCOL);
        }
        assertLogged("bad magic 0xdeadbeef");
    }

    @Test
    void wrongVersion() throws Exception {
        try (RawPeer p = raw()) {
            p.sendRaw(p.frame(MAGIC, 2, MessageType.HELLO.code(), 0, 0, new byte[Hello.SIZE], null, false));
            assertThat(onlyError(p.awaitClose()).code()).isEqualTo(ErrorCode.UNSUPPORTED_VERSION);
        }
        assertLogged("protocol version 2 is not supported");
    }

    @Test
    void badChecksum() throws Exception {
        try (RawPeer p = authenticated()) {
            p.sendRaw(p.frame(MAGIC, VERSION, MessageType.REPLICATE.code(), 1, p.takeSequence(), replicatePayload(), p.sendMac(), true));
            assertThat(onlyError(p.awaitClose()).message()).contains("checksum");
        }
        assertLogged("bad frame checksum");
    }

    @Test
    void badMac() throws Exception {
        try (RawPeer p = authenticated()) {
            FrameMac forger = new FrameMac(Handshakes.newNonce()); // a key that is not the session's
            p.sendRaw(p.frame(MAGIC, VERSION, MessageType.REPLICATE.code(), 1, p.takeSequence(), replicatePayload(), forger, false));
            ErrorMessage e = onlyError(p.awaitClose());
            assertThat(e.code()).isEqualTo(ErrorCode.AUTHENTICATION);
            assertThat(e.message()).isEqualTo("authentication failed"); // no detail for a forger
        }
        assertLogged("bad frame MAC");
    }

    @Test
    void unsignedFrameAfterTheHandshake() throws Exception {
        try (RawPeer p = authenticated()) {
            p.sendRaw(p.frame(MAGIC, VERSION, MessageType.REPLICATE.code(), 1, p.takeSequence(), replicatePayload(), null, false));
            assertThat(onlyError(p.awaitClose()).code()).isEqualTo(ErrorCode.AUTHENTICATION);
        }
        assertLogged("bad frame MAC");
    }

    @Test
    void oversizeLengthIsRefusedWithoutWaitingForThePayload() throws Exception {
        try (RawPeer p = authenticated()) {
            byte[] frame = p.frame(MAGIC, VERSION, MessageType.REPLICATE.code(), 1, p.takeSequence(), new byte[0], p.sendMac(), false);
            byte[] header = Arrays.copyOf(frame, HEADER_SIZE);
            header[OFFSET_LENGTH] = (byte) 0xFF; // 4 GiB claimed; only the header is ever sent
            p.sendRaw(header);
            assertThat(onlyError(p.awaitClose()).message()).contains("exceeds the limit");
        }
        assertLogged("exceeds the limit of " + DEFAULT_MAX_PAYLOAD);
    }

    @Test
    void unknownType() throws Exception {
        try (RawPeer p = authenticated()) {
            p.sendRaw(p.frame(MAGIC, VERSION, 99, 1, p.takeSequence(), new byte[8], p.sendMac(), false));
            assertThat(onlyError(p.awaitClose()).message()).contains("unknown frame type 99");
        }
        assertLogged("unknown frame type 99");
    }

    @Test
    void aReplyTypeFromAClient() throws Exception {
        try (RawPeer p = authenticated()) {
            p.send(Ack.INSTANCE, 1);
            assertThat(onlyError(p.awaitClose()).message()).contains("a client sent a ACK frame");
        }
    }

    @Test
    void truncatedFrameThenEndOfStream() throws Exception {
        try (RawPeer p = authenticated()) {
            byte[] frame = p.frame(MAGIC, VERSION, MessageType.REPLICATE.code(), 1, p.takeSequence(), replicatePayload(), p.sendMac(), false);
            p.sendRaw(Arrays.copyOf(frame, frame.length / 2));
            p.close(); // the server sees the half frame, then EOF
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> server.connectionCount() == 1); // only the good peer is left
    }

    @Test
    void truncatedFrameThenSilenceBeforeTheHandshake() throws Exception {
        try (RawPeer p = raw()) {
            byte[] frame = p.frame(MAGIC, VERSION, MessageType.HELLO.code(), 0, 0, new byte[Hello.SIZE], null, false);
            p.sendRaw(Arrays.copyOf(frame, 20));
            assertThat(onlyError(p.awaitClose()).code()).isEqualTo(ErrorCode.TIMEOUT);
        }
        assertLogged("no completed handshake within 500 ms");
    }

    @Test
    void requestBeforeTheHandshake() throws Exception {
        try (RawPeer p = raw()) {
            p.sendRaw(p.frame(MAGIC, VERSION, MessageType.REPLICATE.code(), 1, 0, replicatePayload(), null, false));
            assertThat(onlyError(p.awaitClose()).code()).isEqualTo(ErrorCode.AUTHENTICATION);
        }
        assertLogged("frame type REPLICATE before the handshake completed");
    }

    @Test
    void proofBeforeHello() throws Exception {
        try (RawPeer p = raw()) {
            p.sendRaw(p.frame(MAGIC, VERSION, MessageType.PROOF.code(), 0, 0, new byte[32], null, false));
            assertThat(onlyError(p.awaitClose()).message()).contains("unexpected PROOF");
        }
    }

    @Test
    void wrongSecretCannotGetAReplicateIntoTheSink() throws Exception {
        try (RawPeer p = raw()) {
            Hello hello = new Hello(CLIENT_HOST, DEFAULT_MAX_PAYLOAD, Handshakes.newNonce());
            p.send(hello, 0);
            var challenge = (io.flashvisor.replication.protocol.Challenge) RawPeer.decode(p.readFrame());
            byte[] t = Handshakes.transcript(hello, challenge);
            p.send(Handshakes.proof(WRONG, Handshakes.Role.CLIENT, t), 0);
            // Pipelined right behind the bad proof, signed with the key the wrong secret gives.
            FrameMac wrongKey = new FrameMac(Handshakes.sessionKeys(WRONG, t).clientToServer());
            p.sendRaw(p.frame(MAGIC, VERSION, MessageType.REPLICATE.code(), 1, p.takeSequence(), replicatePayload(), wrongKey, false));
            ErrorMessage e = onlyError(p.awaitClose());
            assertThat(e.code()).isEqualTo(ErrorCode.AUTHENTICATION);
        }
        assertLogged("does not know the cluster secret");
    }

    @Test
    void wrongSecretThroughTheRealClient() {
        try (PeerConnector stranger = PeerConnector.create(PeerConnector.Settings.of(CLIENT_HOST, WRONG))) {
            var f = stranger.connect(address(server), SERVER_HOST);
            await().atMost(Duration.ofSeconds(10)).until(f::isDone);
            assertThat(f).isCompletedExceptionally();
            assertThat(f.exceptionNow()).isInstanceOf(PeerConnectionException.class)
                    .hasMessageContaining("AUTHENTICATION").hasMessageContaining("same cluster secret");
        }
    }

    @Test
    void replayWithinAConnectionIsRefused() throws Exception {
        try (RawPeer p = authenticated()) {
            p.send(replicate(5000, 7), 1);
            byte[] captured = p.lastFrame;
            RawPeer.RawFrame ack = p.readFrame();
            assertThat(ack.messageType()).isEqualTo(MessageType.ACK);
            p.sendRaw(captured);
            assertThat(onlyError(p.awaitClose()).message()).contains("replayed");
        }
        assertLogged("sequence 2 where 3 was due");
        replicatedBefore++; // the original got in, by design; the replay did not
    }

    @Test
    void replayIntoAnotherConnectionIsRefused() throws Exception {
        byte[] captured;
        try (RawPeer first = authenticated()) {
            first.send(replicate(6000, 8), 1);
            captured = first.lastFrame;
            assertThat(first.readFrame().messageType()).isEqualTo(MessageType.ACK);
        }
        replicatedBefore++;
        try (RawPeer second = authenticated()) {
            second.sendRaw(captured); // same sequence number (2) as in the first connection; different session key
            assertThat(onlyError(second.awaitClose()).code()).isEqualTo(ErrorCode.AUTHENTICATION);
        }
        assertLogged("bad frame MAC");
    }

    @Test
    void malformedPayloadOfAnAuthenticFrameGetsANackAndTheConnectionLives() throws Exception {
        try (RawPeer p = authenticated()) {
            byte[] bad = Arrays.copyOf(replicatePayload(), Replicate.HEADER_SIZE + 100); // 100 bytes of data for a 1-block write
            p.sendRaw(p.frame(MAGIC, VERSION, MessageType.REPLICATE.code(), 9, p.takeSequence(), bad, p.sendMac(), false));
            RawPeer.RawFrame reply = p.readFrame();
            assertThat(reply.requestId()).isEqualTo(9);
            assertThat(((Nack) RawPeer.decode(reply)).code()).isEqualTo(NackCode.BAD_REQUEST);
            p.send(new Ping(77), 10);
            assertThat(p.readFrame().messageType()).isEqualTo(MessageType.PONG);
        }
    }

    @Test
    void aPeerCannotReplicateInAnotherHostsName() throws Exception {
        try (RawPeer p = authenticated()) {
            Replicate spoofed = new Replicate(CLIENT_HOST + 5, 10, 3, 1, 0, 1, 1, replicate(1, 0).data());
            p.send(spoofed, 4);
            Nack n = (Nack) RawPeer.decode(p.readFrame());
            assertThat(n.code()).isEqualTo(NackCode.BAD_REQUEST);
            assertThat(n.message()).contains("is not the authenticated peer");
        }
    }

    @Test
    void aReadLargerThanThePeerAcceptsIsRefused() throws Exception {
        try (RawPeer p = authenticated()) {
            p.send(new Read(10, 3, 0, 1000), 4); // 4 MB; the raw peer accepts 1 MiB
            assertThat(((Nack) RawPeer.decode(p.readFrame())).code()).isEqualTo(NackCode.BAD_REQUEST);
        }
    }
}
