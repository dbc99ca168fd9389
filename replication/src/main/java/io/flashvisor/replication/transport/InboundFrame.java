package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.MessageType;
import io.netty.buffer.ByteBuf;

/**
 * A frame that passed every frame-level check (magic, version, length, CRC, sequence, MAC, type).
 * Owns its payload buffer: whoever consumes it calls {@link #release()}.
 */
record InboundFrame(MessageType type, long requestId, ByteBuf payload) {
    void release() {
        payload.release();
    }
}
