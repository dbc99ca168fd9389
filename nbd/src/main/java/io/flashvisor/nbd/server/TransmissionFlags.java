package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;

import io.flashvisor.common.VolumeFeatures;

/**
 * The 16 transmission flags for an export, derived only from its {@link VolumeFeatures} (and from
 * whether structured replies were negotiated, which {@code NBD_FLAG_SEND_DF} depends on).
 *
 * <p>A read-only export advertises none of the writing features (FUA, TRIM, WRITE_ZEROES,
 * FAST_ZERO): a client must not send them, and every write is refused with {@code EPERM}.
 * {@code SEND_DF} is set with structured replies because this server always answers a read with
 * a single content chunk, which is exactly what "don't fragment" asks for.
 */
final class TransmissionFlags {
    private TransmissionFlags() {
    }

    static int of(VolumeFeatures f, boolean structuredReplies) {
        int flags = FLAG_HAS_FLAGS;
        if (f.readOnly()) {
            flags |= FLAG_READ_ONLY;
        } else {
            if (f.fua()) {
                flags |= FLAG_SEND_FUA;
            }
            if (f.trim()) {
                flags |= FLAG_SEND_TRIM;
            }
            if (f.writeZeroes()) {
                flags |= FLAG_SEND_WRITE_ZEROES;
                if (f.fastZero()) {
                    flags |= FLAG_SEND_FAST_ZERO;
                }
            }
        }
        if (f.flush()) {
            flags |= FLAG_SEND_FLUSH;
        }
        if (f.rotational()) {
            flags |= FLAG_ROTATIONAL;
        }
        if (f.multiConn()) {
            flags |= FLAG_CAN_MULTI_CONN;
        }
        if (f.cache()) {
            flags |= FLAG_SEND_CACHE;
        }
        if (structuredReplies) {
            flags |= FLAG_SEND_DF;
        }
        return flags;
    }
}
