package io.flashvisor.replication.protocol;

/** The answer to a {@link Ping}. Payload: the ping's token, u64. */
public record Pong(long token) implements PeerMessage {
    @Override
    public MessageType type() {
        return MessageType.PONG;
    }
}
