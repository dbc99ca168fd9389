package io.flashvisor.replication.protocol;

/**
 * The frame every peer message travels in. All integers are big-endian.
 *
 * <pre>
 *  0        4     5     6     7     8          12                     20                     28
 * +--------+-----+-----+-----+-----+----------+----------------------+----------------------+
 * | magic  | ver | type|flags| rsv | length   | request id           | sequence             |
 * | "FVRP" | 1   | u8  | 0   | 0   | u32      | u64                  | u64                  |
 * +--------+-----+-----+-----+-----+----------+----------------------+----------------------+
 * | payload: length bytes, at most the receiver's advertised maximum                        |
 * +--------------+--------------------------------------------------------------------------+
 * | CRC32C u32   | MAC: 16 bytes                                                            |
 * +--------------+--------------------------------------------------------------------------+
 *   28 + length    32 + length                                               48 + length
 * </pre>
 *
 * <p>The CRC32C covers the header and the payload. The MAC is HMAC-SHA256 under the connection's
 * key for this direction, over the same bytes, cut to its first 16 bytes; it is all zeroes on the
 * handshake frames, which are sent before any key exists and are protected by the handshake
 * proofs instead. The sequence counts the frames of one direction of one connection from 0
 * (handshake frames included): the receiver accepts only the next one, so a frame cannot be
 * dropped, replayed or reordered without the connection noticing. Why both a CRC and a MAC: the
 * CRC is cheap and tells a flipped bit (a broken NIC or cable) from a forgery in the log line.
 */
public final class FrameFormat {
    /** "FVRP": FlashVisor Replication Protocol. */
    public static final int MAGIC = 0x46565250;
    public static final int VERSION = 1;

    public static final int HEADER_SIZE = 28;
    public static final int CRC_SIZE = 4;
    public static final int MAC_SIZE = 16;
    public static final int TRAILER_SIZE = CRC_SIZE + MAC_SIZE;
    /** Bytes a frame adds to its payload. */
    public static final int OVERHEAD = HEADER_SIZE + TRAILER_SIZE;

    public static final int OFFSET_MAGIC = 0;
    public static final int OFFSET_VERSION = 4;
    public static final int OFFSET_TYPE = 5;
    public static final int OFFSET_FLAGS = 6;
    public static final int OFFSET_RESERVED = 7;
    public static final int OFFSET_LENGTH = 8;
    public static final int OFFSET_REQUEST_ID = 12;
    public static final int OFFSET_SEQUENCE = 20;

    /** Replicated and remotely read data moves in whole blocks of this size. */
    public static final int BLOCK_SIZE = 4096;

    /** The default receive limit: 256 blocks of data plus room for a message header. */
    public static final int DEFAULT_MAX_PAYLOAD = (256 * BLOCK_SIZE) + BLOCK_SIZE;
    /** No side may advertise a larger receive limit: it bounds what one frame can make a host buffer. */
    public static final int MAX_MAX_PAYLOAD = (16 << 20) + BLOCK_SIZE;
    /** No side may advertise a smaller one: a REPLICATE of one block must fit. */
    public static final int MIN_MAX_PAYLOAD = BLOCK_SIZE + 1024;

    private FrameFormat() {
    }

    public static void checkMaxPayload(int maxPayload) {
        if (maxPayload < MIN_MAX_PAYLOAD || maxPayload > MAX_MAX_PAYLOAD) {
            throw new IllegalArgumentException("maximum payload " + maxPayload + " is outside [" + MIN_MAX_PAYLOAD + ", "
                    + MAX_MAX_PAYLOAD + "] bytes");
        }
    }
}
