package io.flashvisor.replication.protocol;

/**
 * Sent just before closing a connection, to say why. Request id 0.
 *
 * <pre>
 *  0        2        4
 * +--------+--------+---------------------------+
 * | code   | text   | text, UTF-8               |
 * | u16    | len u16| at most 1024 bytes        |
 * +--------+--------+---------------------------+
 * </pre>
 */
public record ErrorMessage(ErrorCode code, String message) implements PeerMessage {
    public ErrorMessage {
        message = Texts.clip(message);
    }

    @Override
    public MessageType type() {
        return MessageType.ERROR;
    }
}
