package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.FrameMac;

/**
 * The MACs of one connection, shared by its {@link FrameDecoder}, {@link FrameEncoder} and
 * handshake handler. Null until the handshake installs them; each side installs its send MAC
 * right after writing its own PROOF and its receive MAC right after verifying the peer's, so the
 * handshake frames (unsigned) and every later frame (signed) fall on the right side of the switch.
 * Confined to the channel's event loop.
 */
final class FrameKeys {
    FrameMac send;
    FrameMac receive;

    boolean authenticated() {
        return receive != null;
    }
}
