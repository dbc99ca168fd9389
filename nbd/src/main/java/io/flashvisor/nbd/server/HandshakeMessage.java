package io.flashvisor.nbd.server;

/**
 * What travels during the handshake. Inbound ({@link HandshakeDecoder}): {@link ClientFlags}, then
 * {@link Option}s. Outbound ({@link HandshakeEncoder}): {@link Greeting}, {@link OptionReply},
 * {@link ExportNameReply}. Payloads are plain byte arrays: they are small and bounded, and nothing
 * here needs reference counting.
 */
sealed interface HandshakeMessage {

    /** C: 32 bits of client flags, once, right after the greeting. */
    record ClientFlags(int flags) implements HandshakeMessage {
    }

    /** C: one option request; {@code data} is at most {@link HandshakeDecoder#MAX_OPTION_LENGTH} bytes. */
    record Option(int option, byte[] data) implements HandshakeMessage {
    }

    /** S: {@code NBDMAGIC}, {@code IHAVEOPT}, 16 bits of handshake flags. */
    record Greeting(int handshakeFlags) implements HandshakeMessage {
    }

    /** S: a fixed-newstyle option reply. */
    record OptionReply(int option, int type, byte[] data) implements HandshakeMessage {
    }

    /** S: the answer to {@code NBD_OPT_EXPORT_NAME}: size, transmission flags, 124 zeroes unless NO_ZEROES. */
    record ExportNameReply(long size, int transmissionFlags, boolean zeroes) implements HandshakeMessage {
    }
}
