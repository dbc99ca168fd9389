package io.flashvisor.nbd.server;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import io.flashvisor.nbd.wire.NbdConstants;

/**
 * Turns {@link io.flashvisor.common.BlockVolume} failures into the NBD error values of the wire
 * (spec "Error values"). The wire values are fixed by the protocol, not by the host's errno.
 */
final class NbdErrors {
    private NbdErrors() {
    }

    static int errno(BlockError error) {
        return switch (error) {
            case IO -> NbdConstants.EIO;
            case NO_SPACE -> NbdConstants.ENOSPC;
            case INVALID -> NbdConstants.EINVAL;
            case PERMISSION -> NbdConstants.EPERM;
            case NOT_SUPPORTED -> NbdConstants.ENOTSUP;
            case OVERFLOW -> NbdConstants.EOVERFLOW;
            case SHUTDOWN -> NbdConstants.ESHUTDOWN;
        };
    }

    /** The error of any failure: a {@link VolumeException} carries its own; anything else is an I/O error. */
    static int errnoOf(Throwable t) {
        return t instanceof VolumeException v ? errno(v.error()) : NbdConstants.EIO;
    }

    /** A short name for logs, e.g. {@code EINVAL}. */
    static String name(int errno) {
        return switch (errno) {
            case 0 -> "OK";
            case NbdConstants.EPERM -> "EPERM";
            case NbdConstants.EIO -> "EIO";
            case NbdConstants.ENOMEM -> "ENOMEM";
            case NbdConstants.EINVAL -> "EINVAL";
            case NbdConstants.ENOSPC -> "ENOSPC";
            case NbdConstants.EOVERFLOW -> "EOVERFLOW";
            case NbdConstants.ENOTSUP -> "ENOTSUP";
            case NbdConstants.ESHUTDOWN -> "ESHUTDOWN";
            default -> "E" + errno;
        };
    }
}
