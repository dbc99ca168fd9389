package io.flashvisor.replication.transport;

import static io.flashvisor.replication.protocol.FrameFormat.*;

import io.flashvisor.replication.protocol.Challenge;
import io.flashvisor.replication.protocol.ClusterSecret;
import io.flashvisor.replication.protocol.FrameMac;
import io.flashvisor.replication.protocol.Handshakes;
import io.flashvisor.replication.protocol.Hello;
import io.flashvisor.replication.protocol.MessageCodec;
import io.flashvisor.replication.protocol.MessageType;
import io.flashvisor.replication.protocol.PeerMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A hand-driven peer over a plain blocking socket, independent of the production encoder: it
 * builds frames byte by byte so tests can send exactly the malformed, forged or replayed bytes
 * they need, and it records every byte it sent so a frame can be captured and replayed.
 */
final class RawPeer implements AutoCloseable {
    /** A frame as read off the wire. */
    record RawFrame(int type, long requestId, long sequence, byte[] payload) {
        MessageType messageType() {
            return MessageType.fromCode(type);
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private FrameMac sendMac;
    private FrameMac receiveMac;
    private long sendSequence;
    private long receiveSequence;
    /** The bytes of the last frame built, for replay tests. */
    byte[] lastFrame;

    RawPeer(InetSocketAddress address) throws IOException {
        socket = new Socket();
        socket.connect(address, 5000);
        socket.setSoTimeout(20_000); // a test that waits this long has failed; the timeout only keeps it from hanging
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /** Runs the client side of the handshake; returns the server's challenge. */
    Challenge handshake(long hostId, ClusterSecret secret) throws IOException {
        Hello hello = new Hello(hostId, DEFAULT_MAX_PAYLOAD, Handshakes.newNonce());
        send(hello, 0);
        RawFrame f = readFrame();
        if (f.messageType() != MessageType.CHALLENGE) {
            throw new IOException("expected CHALLENGE, got " + f);
        }
        Challenge c = (Challenge) decode(f);
        byte[] t = Handshakes.transcript(hello, c);
        send(Handshakes.proof(secret, Handshakes.Role.CLIENT, t), 0);
        Handshakes.SessionKeys keys = Handshakes.sessionKeys(secret, t);
        sendMac = new FrameMac(keys.clientToServer());
        RawFrame proof = readFrame();
        if (proof.messageType() != MessageType.PROOF) {
            throw new IOException("expected PROOF, got " + proof + " " + (proof.messageType() == MessageType.ERROR ? decode(proof) : ""));
        }
        receiveMac = new FrameMac(keys.serverToClient());
        return c;
    }

    static PeerMessage decode(RawFrame f) {
        try {
            return MessageCodec.decode(f.messageType(), Unpooled.wrappedBuffer(f.payload()));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static byte[] payload(PeerMessage m) {
        ByteBuf b = Unpooled.buffer();
        MessageCodec.encode(m, b);
        byte[] bytes = new byte[b.readableBytes()];
        b.readBytes(bytes);
        return bytes;
    }

    /** Sends a well-formed frame (signed once the handshake is done). */
    void send(PeerMessage m, long requestId) throws IOException {
        sendRaw(frame(MAGIC, VERSION, m.type().code(), requestId, sendSequence++, payload(m), sendMac, false));
    }

    /** Builds a frame with whatever header values a test wants; {@code badCrc} flips the checksum. */
    byte[] frame(int magic, int version, int type, long requestId, long sequence, byte[] payload, FrameMac mac, boolean badCrc) {
        ByteBuf b = Unpooled.buffer();
        b.writeInt(magic).writeByte(version).writeByte(type).writeByte(0).writeByte(0).writeInt(payload.length)
                .writeLong(requestId).writeLong(sequence).writeBytes(payload);
        CRC32C crc = new CRC32C();
        crc.update(b.nioBuffer(0, b.writerIndex()));
        int covered = b.writerIndex();
        b.writeInt((int) crc.getValue() ^ (badCrc ? 1 : 0));
        b.writeZero(MAC_SIZE);
        if (mac != null) {
            mac.sign(b, 0, covered, covered + CRC_SIZE);
        }
        byte[] bytes = new byte[b.readableBytes()];
        b.readBytes(bytes);
        lastFrame = bytes;
        return bytes;
    }

    FrameMac sendMac() {
        return sendMac;
    }

    /** The sequence number the next frame must carry; taking it moves it on. */
    long takeSequence() {
        return sendSequence++;
    }

    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    RawFrame readFrame() throws IOException {
        byte[] header = new byte[HEADER_SIZE];
        in.readFully(header);
        ByteBuffer h = ByteBuffer.wrap(header);
        if (h.getInt(OFFSET_MAGIC) != MAGIC) {
            throw new IOException("bad magic from the server");
        }
        int length = h.getInt(OFFSET_LENGTH);
        byte[] rest = new byte[length + TRAILER_SIZE];
        in.readFully(rest);
        ByteBuf whole = Unpooled.wrappedBuffer(header, rest);
        long seq = h.getLong(OFFSET_SEQUENCE);
        if (seq != receiveSequence++) {
            throw new IOException("server frame out of sequence");
        }
        if (receiveMac != null && !receiveMac.verify(whole, 0, HEADER_SIZE + length, HEADER_SIZE + length + CRC_SIZE)) {
            throw new IOException("bad MAC from the server");
        }
        byte[] payload = new byte[length];
        System.arraycopy(rest, 0, payload, 0, length);
        return new RawFrame(h.get(OFFSET_TYPE) & 0xFF, h.getLong(OFFSET_REQUEST_ID), seq, payload);
    }

    /**
     * Reads until the server closes the connection, returning the frames it sent before (an ERROR,
     * normally). Fails if the server keeps the connection open past the socket timeout.
     */
    List<RawFrame> awaitClose() throws IOException {
        List<RawFrame> frames = new ArrayList<>();
        try {
            while (true) {
                frames.add(readFrame());
            }
        } catch (EOFException | SocketException e) {
            return frames; // closed (a reset counts: the server closed with our bytes unread)
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server did not close the connection; frames seen: " + frames);
        }
    }

    boolean isClosedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketException e) {
            return true;
        }
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            o.writeBytes(p);
        }
        return o.toByteArray();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
