package io.flashvisor.nbd.server;

import io.flashvisor.nbd.Export;

/**
 * What the handshake agreed on, fixed for the transmission phase of one connection.
 *
 * @param metaContextId the id of {@code base:allocation} if it was selected for this export, else -1
 */
record Session(Export export, int transmissionFlags, BlockSizes sizes, boolean structuredReplies, int metaContextId) {

    boolean has(int flag) {
        return (transmissionFlags & flag) != 0;
    }
}
