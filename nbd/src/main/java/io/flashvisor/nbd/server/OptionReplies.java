package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;

import io.flashvisor.nbd.Export;
import java.nio.ByteBuffer;

/**
 * Builds the option replies of the fixed-newstyle handshake (spec "Option reply types").
 *
 * <pre>
 * NBD_REP_SERVER:       name length u32, name, description
 * NBD_REP_INFO EXPORT:  u16 0, size u64, transmission flags u16          (12 bytes)
 * NBD_REP_INFO NAME:    u16 1, name
 * NBD_REP_INFO DESCR.:  u16 2, description
 * NBD_REP_INFO BLOCK:   u16 3, minimum u32, preferred u32, maximum u32   (14 bytes)
 * NBD_REP_META_CONTEXT: context id u32, name
 * errors:               a message for the human at the client
 * </pre>
 */
final class OptionReplies {
    private OptionReplies() {
    }

    private static final byte[] NONE = new byte[0];

    static HandshakeMessage.OptionReply ack(int option) {
        return new HandshakeMessage.OptionReply(option, REP_ACK, NONE);
    }

    static HandshakeMessage.OptionReply error(int option, int type, String message) {
        return new HandshakeMessage.OptionReply(option, type, Strings.truncatedUtf8(message, MAX_STRING));
    }

    static HandshakeMessage.OptionReply server(int option, Export export) {
        byte[] name = Strings.truncatedUtf8(export.name(), MAX_STRING);
        byte[] description = Strings.truncatedUtf8(export.description(), MAX_STRING);
        ByteBuffer b = ByteBuffer.allocate(4 + name.length + description.length);
        b.putInt(name.length).put(name).put(description);
        return new HandshakeMessage.OptionReply(option, REP_SERVER, b.array());
    }

    static HandshakeMessage.OptionReply infoExport(int option, long size, int transmissionFlags) {
        ByteBuffer b = ByteBuffer.allocate(12);
        b.putShort((short) INFO_EXPORT).putLong(size).putShort((short) transmissionFlags);
        return new HandshakeMessage.OptionReply(option, REP_INFO, b.array());
    }

    static HandshakeMessage.OptionReply infoString(int option, int infoType, String value) {
        byte[] s = Strings.truncatedUtf8(value, MAX_STRING);
        ByteBuffer b = ByteBuffer.allocate(2 + s.length);
        b.putShort((short) infoType).put(s);
        return new HandshakeMessage.OptionReply(option, REP_INFO, b.array());
    }

    static HandshakeMessage.OptionReply infoBlockSize(int option, BlockSizes sizes) {
        ByteBuffer b = ByteBuffer.allocate(14);
        b.putShort((short) INFO_BLOCK_SIZE).putInt(sizes.minimum()).putInt(sizes.preferred()).putInt(sizes.maximumPayload());
        return new HandshakeMessage.OptionReply(option, REP_INFO, b.array());
    }

    static HandshakeMessage.OptionReply metaContext(int option, int contextId, String name) {
        byte[] s = Strings.truncatedUtf8(name, MAX_STRING);
        ByteBuffer b = ByteBuffer.allocate(4 + s.length);
        b.putInt(contextId).put(s);
        return new HandshakeMessage.OptionReply(option, REP_META_CONTEXT, b.array());
    }
}
