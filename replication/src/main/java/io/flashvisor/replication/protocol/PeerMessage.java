package io.flashvisor.replication.protocol;

/**
 * One message of the peer protocol: the payload of one frame. The request id that pairs a reply
 * with its request is a field of the frame, not of the message (see {@link FrameFormat}).
 */
public sealed interface PeerMessage
        permits Hello, Challenge, Proof, ErrorMessage, Replicate, Release, Read, Ping, Ack, Nack, Data, Pong {
    MessageType type();
}
