package io.flashvisor.backing.nbd;

import static io.flashvisor.nbd.wire.NbdConstants.EINVAL;
import static io.flashvisor.nbd.wire.NbdConstants.EIO;
import static io.flashvisor.nbd.wire.NbdConstants.ENOMEM;
import static io.flashvisor.nbd.wire.NbdConstants.ENOSPC;
import static io.flashvisor.nbd.wire.NbdConstants.ENOTSUP;
import static io.flashvisor.nbd.wire.NbdConstants.EOVERFLOW;
import static io.flashvisor.nbd.wire.NbdConstants.EPERM;
import static io.flashvisor.nbd.wire.NbdConstants.ESHUTDOWN;

import io.flashvisor.common.BlockError;
import io.flashvisor.nbd.wire.NbdConstants;

/** NBD error values, command names and option reply names, for mapping and for messages. */
final class NbdErrors {
    private NbdErrors() {
    }

    /** The spec says to treat an unknown error value as {@code EINVAL}. ENOMEM is a server-side I/O failure to us. */
    static BlockError toBlockError(int errno) {
        return switch (errno) {
            case EPERM -> BlockError.PERMISSION;
            case EIO, ENOMEM -> BlockError.IO;
            case ENOSPC -> BlockError.NO_SPACE;
            case EOVERFLOW -> BlockError.OVERFLOW;
            case ENOTSUP -> BlockError.NOT_SUPPORTED;
            case ESHUTDOWN -> BlockError.SHUTDOWN;
            default -> BlockError.INVALID;
        };
    }

    static String errnoName(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case EIO -> "EIO";
            case ENOMEM -> "ENOMEM";
            case EINVAL -> "EINVAL";
            case ENOSPC -> "ENOSPC";
            case EOVERFLOW -> "EOVERFLOW";
            case ENOTSUP -> "ENOTSUP";
            case ESHUTDOWN -> "ESHUTDOWN";
            default -> "error " + errno;
        };
    }

    static String commandName(int type) {
        return switch (type) {
            case NbdConstants.CMD_READ -> "READ";
            case NbdConstants.CMD_WRITE -> "WRITE";
            case NbdConstants.CMD_DISC -> "DISC";
            case NbdConstants.CMD_FLUSH -> "FLUSH";
            case NbdConstants.CMD_TRIM -> "TRIM";
            case NbdConstants.CMD_CACHE -> "CACHE";
            case NbdConstants.CMD_WRITE_ZEROES -> "WRITE_ZEROES";
            case NbdConstants.CMD_BLOCK_STATUS -> "BLOCK_STATUS";
            default -> "command " + type;
        };
    }

    static String replyName(int type) {
        return switch (type) {
            case NbdConstants.REP_ERR_UNSUP -> "ERR_UNSUP (not supported)";
            case NbdConstants.REP_ERR_POLICY -> "ERR_POLICY (forbidden by server policy)";
            case NbdConstants.REP_ERR_INVALID -> "ERR_INVALID";
            case NbdConstants.REP_ERR_PLATFORM -> "ERR_PLATFORM";
            case NbdConstants.REP_ERR_TLS_REQD -> "ERR_TLS_REQD (the server requires TLS, which this client does not support yet)";
            case NbdConstants.REP_ERR_UNKNOWN -> "ERR_UNKNOWN (no such export)";
            case NbdConstants.REP_ERR_SHUTDOWN -> "ERR_SHUTDOWN (the server is shutting down)";
            case NbdConstants.REP_ERR_BLOCK_SIZE_REQD -> "ERR_BLOCK_SIZE_REQD";
            case NbdConstants.REP_ERR_TOO_BIG -> "ERR_TOO_BIG";
            default -> "reply type 0x" + Integer.toHexString(type);
        };
    }
}
