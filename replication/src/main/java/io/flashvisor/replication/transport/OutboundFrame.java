package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.PeerMessage;

/** A message to send, with the request id its frame carries (the request's own id for a reply, 0 for ERROR). */
record OutboundFrame(long requestId, PeerMessage message) {
}
