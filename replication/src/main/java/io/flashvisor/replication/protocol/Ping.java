package io.flashvisor.replication.protocol;

/** A liveness probe; the server answers with a {@link Pong} carrying the same token. Payload: token u64. */
public record Ping(long token) implements PeerMessage {
    @Override
    public MessageType type() {
        return MessageType.PING;
    }
}
