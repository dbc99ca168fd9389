package io.flashvisor.replication.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Message payloads to and from bytes (the frame around them is the transport's business). Each
 * message's layout is drawn in its record's javadoc.
 *
 * <p>Decoding never trusts a length or count: every one is checked against the payload's actual
 * size before anything is allocated, so a payload can only make the decoder allocate what it
 * already occupies. {@link Replicate} and {@link Data} decode to views of the payload buffer (no
 * copy): they are valid only as long as that buffer is.
 */
public final class MessageCodec {
    private MessageCodec() {
    }

    /** Bytes {@link #encode} will write. */
    public static int payloadSize(PeerMessage m) {
        return switch (m) {
            case Hello h -> Hello.SIZE;
            case Challenge c -> Challenge.SIZE;
            case Proof p -> Proof.SIZE;
            case ErrorMessage e -> 4 + utf8(e.message()).length;
            case Nack n -> 4 + utf8(n.message()).length;
            case Replicate r -> Replicate.HEADER_SIZE + r.blockCount() * FrameFormat.BLOCK_SIZE;
            case Release r -> Release.HEADER_SIZE + r.ranges().size() * BlockRange.SIZE;
            case Read r -> Read.SIZE;
            case Ping p -> 8;
            case Pong p -> 8;
            case Ack a -> 0;
            case Data d -> d.data().remaining();
        };
    }

    public static void encode(PeerMessage m, ByteBuf out) {
        switch (m) {
            case Hello h -> out.writeLong(h.hostId()).writeInt(h.maxPayload()).writeBytes(h.nonce());
            case Challenge c -> out.writeLong(c.hostId()).writeInt(c.maxPayload()).writeInt(c.maxInFlight()).writeBytes(c.nonce());
            case Proof p -> out.writeBytes(p.mac());
            case ErrorMessage e -> writeCoded(out, e.code().code(), e.message());
            case Nack n -> writeCoded(out, n.code().code(), n.message());
            case Replicate r -> {
                out.writeLong(r.originHost()).writeLong(r.volumeId()).writeLong(r.ownershipEpoch()).writeLong(r.flushEpoch())
                        .writeLong(r.firstBlock()).writeLong(r.originSequence()).writeInt(r.blockCount()).writeInt(0);
                out.writeBytes(r.data());
            }
            case Release r -> {
                out.writeLong(r.originHost()).writeLong(r.volumeId()).writeLong(r.epoch()).writeLong(r.upToSequence())
                        .writeInt(r.ranges().size());
                for (BlockRange b : r.ranges()) {
                    out.writeLong(b.firstBlock()).writeInt(b.blockCount());
                }
            }
            case Read r -> out.writeLong(r.volumeId()).writeLong(r.epoch()).writeLong(r.firstBlock()).writeInt(r.blockCount());
            case Ping p -> out.writeLong(p.token());
            case Pong p -> out.writeLong(p.token());
            case Ack a -> {
            }
            case Data d -> out.writeBytes(d.data());
        }
    }

    /** Decodes the whole readable part of {@code payload} as a message of {@code type}; moves no index. */
    public static PeerMessage decode(MessageType type, ByteBuf payload) throws MalformedMessageException {
        int at = payload.readerIndex();
        int size = payload.readableBytes();
        return switch (type) {
            case HELLO -> {
                exact(type, size, Hello.SIZE);
                yield new Hello(payload.getLong(at), payload.getInt(at + 8), bytes(payload, at + 12, Handshakes.NONCE_SIZE));
            }
            case CHALLENGE -> {
                exact(type, size, Challenge.SIZE);
                yield new Challenge(payload.getLong(at), payload.getInt(at + 8), payload.getInt(at + 12),
                        bytes(payload, at + 16, Handshakes.NONCE_SIZE));
            }
            case PROOF -> {
                exact(type, size, Proof.SIZE);
                yield new Proof(bytes(payload, at, Proof.SIZE));
            }
            case ERROR -> new ErrorMessage(ErrorCode.fromCode(codedCode(type, payload)), codedText(type, payload));
            case NACK -> new Nack(NackCode.fromCode(codedCode(type, payload)), codedText(type, payload));
            case REPLICATE -> decodeReplicate(payload, at, size);
            case RELEASE -> decodeRelease(payload, at, size);
            case READ -> {
                exact(type, size, Read.SIZE);
                long first = payload.getLong(at + 16);
                int count = payload.getInt(at + 24);
                checkRange(first, count);
                yield new Read(payload.getLong(at), payload.getLong(at + 8), first, count);
            }
            case PING -> {
                exact(type, size, 8);
                yield new Ping(payload.getLong(at));
            }
            case PONG -> {
                exact(type, size, 8);
                yield new Pong(payload.getLong(at));
            }
            case ACK -> {
                exact(type, size, 0);
                yield Ack.INSTANCE;
            }
            case DATA -> {
                if (size % FrameFormat.BLOCK_SIZE != 0) {
                    throw new MalformedMessageException("DATA of " + size + " bytes is not whole blocks");
                }
                yield new Data(payload.nioBuffer(at, size));
            }
        };
    }

    private static Replicate decodeReplicate(ByteBuf p, int at, int size) throws MalformedMessageException {
        if (size < Replicate.HEADER_SIZE) {
            throw new MalformedMessageException("REPLICATE of " + size + " bytes is shorter than its " + Replicate.HEADER_SIZE
                    + "-byte header");
        }
        long first = p.getLong(at + 32);
        int count = p.getInt(at + 48);
        checkRange(first, count);
        long dataBytes = (long) count * FrameFormat.BLOCK_SIZE;
        if (dataBytes != size - Replicate.HEADER_SIZE) {
            throw new MalformedMessageException("REPLICATE of " + count + " blocks carries " + (size - Replicate.HEADER_SIZE)
                    + " bytes of data instead of " + dataBytes);
        }
        if (p.getInt(at + 52) != 0) {
            throw new MalformedMessageException("REPLICATE reserved field is not zero");
        }
        ByteBuffer data = p.nioBuffer(at + Replicate.HEADER_SIZE, (int) dataBytes);
        return new Replicate(p.getLong(at), p.getLong(at + 8), p.getLong(at + 16), p.getLong(at + 24), first, count,
                p.getLong(at + 40), data);
    }

    private static Release decodeRelease(ByteBuf p, int at, int size) throws MalformedMessageException {
        if (size < Release.HEADER_SIZE) {
            throw new MalformedMessageException("RELEASE of " + size + " bytes is shorter than its header");
        }
        long upTo = p.getLong(at + 24);
        if (upTo < 0) {
            throw new MalformedMessageException("RELEASE up to a negative sequence " + upTo);
        }
        long count = p.getUnsignedInt(at + 32);
        // The count is checked against the bytes present before the list is sized by it.
        if (count * BlockRange.SIZE != size - Release.HEADER_SIZE) {
            throw new MalformedMessageException("RELEASE of " + count + " ranges carries " + (size - Release.HEADER_SIZE)
                    + " bytes of ranges");
        }
        List<BlockRange> ranges = new ArrayList<>((int) count);
        for (int i = 0; i < count; i++) {
            int o = at + Release.HEADER_SIZE + i * BlockRange.SIZE;
            long first = p.getLong(o);
            int blocks = p.getInt(o + 8);
            checkRange(first, blocks);
            ranges.add(new BlockRange(first, blocks));
        }
        return new Release(p.getLong(at), p.getLong(at + 8), p.getLong(at + 16), upTo, ranges);
    }

    private static void checkRange(long first, long count) throws MalformedMessageException {
        String problem = Blocks.rangeProblem(first, count);
        if (problem != null) {
            throw new MalformedMessageException(problem);
        }
    }

    private static void exact(MessageType type, int size, int expected) throws MalformedMessageException {
        if (size != expected) {
            throw new MalformedMessageException(type + " payload is " + size + " bytes instead of " + expected);
        }
    }

    private static void writeCoded(ByteBuf out, int code, String text) {
        byte[] b = utf8(text);
        out.writeShort(code).writeShort(b.length).writeBytes(b);
    }

    private static int codedCode(MessageType type, ByteBuf p) throws MalformedMessageException {
        int size = p.readableBytes();
        if (size < 4 || p.getUnsignedShort(p.readerIndex() + 2) != size - 4) {
            throw new MalformedMessageException(type + " text length does not match its " + size + "-byte payload");
        }
        return p.getUnsignedShort(p.readerIndex());
    }

    private static String codedText(MessageType type, ByteBuf p) throws MalformedMessageException {
        int size = p.readableBytes() - 4;
        if (size > Texts.MAX_BYTES) {
            throw new MalformedMessageException(type + " text of " + size + " bytes exceeds " + Texts.MAX_BYTES);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(p.nioBuffer(p.readerIndex() + 4, size)).toString();
        } catch (CharacterCodingException e) {
            throw new MalformedMessageException(type + " text is not UTF-8");
        }
    }

    private static byte[] bytes(ByteBuf p, int index, int length) {
        byte[] b = new byte[length];
        p.getBytes(index, b);
        return b;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
