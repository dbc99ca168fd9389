package io.flashvisor.backing.nbd;

import io.flashvisor.nbd.wire.NbdConstants;

/**
 * What the server told us about an export during the handshake.
 *
 * @param name              the export name we asked for
 * @param size              size in bytes
 * @param transmissionFlags the 16-bit {@code NBD_FLAG_*} transmission flags (0 if the server did not set {@code HAS_FLAGS})
 * @param minimumBlockSize  every request's offset and length is a multiple of this (1 if not advertised)
 * @param preferredBlockSize requests of this alignment avoid read-modify-write on the server
 * @param maximumPayload    the largest READ or WRITE payload this client sends: the advertised maximum,
 *                          capped at 32 MiB and rounded down to the minimum block size
 * @param structuredReplies whether structured replies were negotiated
 * @param blockStatus       whether {@code base:allocation} was negotiated, so BLOCK_STATUS can be used
 */
public record NbdExport(String name, long size, int transmissionFlags, int minimumBlockSize, int preferredBlockSize,
                        int maximumPayload, boolean structuredReplies, boolean blockStatus) {

    public boolean has(int transmissionFlag) {
        return (transmissionFlags & transmissionFlag) != 0;
    }

    public boolean readOnly() {
        return has(NbdConstants.FLAG_READ_ONLY);
    }
}
