package io.flashvisor.replication.protocol;

/**
 * The reply to a request that failed; the frame's request id names the request. Same layout as
 * {@link ErrorMessage}: code u16, text length u16, UTF-8 text of at most 1024 bytes.
 */
public record Nack(NackCode code, String message) implements PeerMessage {
    public Nack {
        message = Texts.clip(message);
    }

    @Override
    public MessageType type() {
        return MessageType.NACK;
    }
}
