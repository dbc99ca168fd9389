package io.flashvisor.replication.protocol;

import java.nio.ByteBuffer;

/**
 * The reply to a {@link Read}: the blocks, nothing else (the request id pairs it with the read).
 * Payload: {@code blockCount * 4096} bytes of data. The buffer is not copied (see {@link Replicate}).
 */
public record Data(ByteBuffer data) implements PeerMessage {
    public Data {
        if (data == null || data.remaining() % FrameFormat.BLOCK_SIZE != 0) {
            throw new IllegalArgumentException("data must be whole blocks of " + FrameFormat.BLOCK_SIZE + " bytes");
        }
    }

    @Override
    public MessageType type() {
        return MessageType.DATA;
    }

    @Override
    public ByteBuffer data() {
        return data.duplicate();
    }

    @Override
    public String toString() {
        return "Data[" + data.remaining() + " bytes]";
    }
}
