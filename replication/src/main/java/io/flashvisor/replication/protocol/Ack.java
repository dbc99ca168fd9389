package io.flashvisor.replication.protocol;

/** The reply to a REPLICATE (the data is durable here) or a RELEASE (done). Empty payload. */
public record Ack() implements PeerMessage {
    public static final Ack INSTANCE = new Ack();

    @Override
    public MessageType type() {
        return MessageType.ACK;
    }
}
