package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.MessageType;
import io.flashvisor.replication.protocol.ErrorCode;
import io.flashvisor.replication.protocol.MalformedMessageException;
import io.flashvisor.replication.protocol.MessageCodec;
import io.flashvisor.replication.protocol.PeerMessage;
import io.flashvisor.replication.protocol.ProtocolException;
import io.netty.buffer.ByteBuf;

/**
 * A frame that passed every frame-level check (magic, version, length, CRC, sequence, MAC, type).
 * Owns its payload buffer: whoever consumes it calls {@link #release()}.
 */
record InboundFrame(MessageType type, long requestId, ByteBuf payload) {
    void release() {
        payload.release();
    }

    /**
     * Decodes a handshake message and releases the payload. A malformed one is a protocol error:
     * before the peer has proved who it is, nothing it sends is worth a reply.
     */
    PeerMessage decodeHandshake() {
        try {
            return MessageCodec.decode(type, payload);
        } catch (MalformedMessageException e) {
            throw new ProtocolException(ErrorCode.PROTOCOL, "malformed handshake: " + e.getMessage());
        } finally {
            release();
        }
    }
}
