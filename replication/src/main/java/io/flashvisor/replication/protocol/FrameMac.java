package io.flashvisor.replication.protocol;

import io.netty.buffer.ByteBuf;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;

/**
 * The MAC of frames in one direction of one connection: HMAC-SHA256 under that direction's
 * session key, cut to {@link FrameFormat#MAC_SIZE} bytes (128 bits: forging one is as hard as
 * guessing a 128-bit value, and a failed guess ends the connection). Not thread-safe: one
 * instance per direction, used on the connection's event loop.
 */
public final class FrameMac {
    private final Mac mac;
    private final byte[] full = new byte[32];
    private final byte[] received = new byte[FrameFormat.MAC_SIZE];
    private final byte[] expected = new byte[FrameFormat.MAC_SIZE];

    public FrameMac(byte[] key) {
        this.mac = Handshakes.newMac(key);
    }

    /** Writes the MAC of {@code length} bytes of {@code buf} at {@code index} into {@code buf} at {@code macIndex}. */
    public void sign(ByteBuf buf, int index, int length, int macIndex) {
        compute(buf, index, length);
        buf.setBytes(macIndex, full, 0, FrameFormat.MAC_SIZE);
    }

    /** Whether the MAC at {@code macIndex} is right for the bytes at {@code index}; constant-time. */
    public boolean verify(ByteBuf buf, int index, int length, int macIndex) {
        compute(buf, index, length);
        System.arraycopy(full, 0, expected, 0, FrameFormat.MAC_SIZE);
        buf.getBytes(macIndex, received);
        return MessageDigest.isEqual(expected, received);
    }

    private void compute(ByteBuf buf, int index, int length) {
        if (buf.hasArray()) {
            mac.update(buf.array(), buf.arrayOffset() + index, length);
        } else {
            for (java.nio.ByteBuffer b : buf.nioBuffers(index, length)) {
                mac.update(b);
            }
        }
        try {
            mac.doFinal(full, 0);
        } catch (ShortBufferException e) {
            throw new IllegalStateException(e); // 32 bytes is exactly HMAC-SHA256's length
        }
    }
}
