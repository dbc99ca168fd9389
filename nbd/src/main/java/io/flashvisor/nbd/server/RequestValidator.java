package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;

/**
 * Decides, before any volume call, whether a request is acceptable (spec "Request types", "Error
 * values" and "Size constraints"). Checks run in this order, so each bad request gets the most
 * specific error:
 * <ol>
 * <li>unknown command, or a flag not documented for the command or not advertised: {@code EINVAL};</li>
 * <li>a write whose payload exceeded the maximum (and was discarded): {@code EINVAL};</li>
 * <li>a write, trim or zero on a read-only export: {@code EPERM};</li>
 * <li>a command the export did not advertise (FLUSH, TRIM, WRITE_ZEROES, BLOCK_STATUS without a
 *     selected meta context): {@code EINVAL};</li>
 * <li>a read longer than the maximum payload: {@code EOVERFLOW} with structured replies (the spec
 *     lets the server reject big reads up front), else {@code EINVAL};</li>
 * <li>a range beyond the end of the export: {@code ENOSPC} for WRITE and WRITE_ZEROES, {@code EINVAL}
 *     for the others (the spec's "SHOULD" for each);</li>
 * <li>offset or length not a multiple of the minimum block size (a short final block is allowed):
 *     {@code EINVAL};</li>
 * <li>FLUSH with a non-zero offset or length, BLOCK_STATUS with length 0: {@code EINVAL}.</li>
 * </ol>
 */
final class RequestValidator {
    private RequestValidator() {
    }

    /** Why a request is refused. */
    record Rejection(int error, String message) {
    }

    /** Null if the request may run, else why not. {@code CMD_DISC} is not validated. */
    static Rejection check(Request r, Session s) {
        int allowed;
        switch (r.type) {
            case CMD_READ -> allowed = CMD_FLAG_DF;
            case CMD_WRITE, CMD_TRIM, CMD_CACHE, CMD_FLUSH -> allowed = 0;
            case CMD_WRITE_ZEROES -> allowed = CMD_FLAG_NO_HOLE | CMD_FLAG_FAST_ZERO;
            case CMD_BLOCK_STATUS -> allowed = CMD_FLAG_REQ_ONE;
            default -> {
                return new Rejection(EINVAL, "unknown command " + r.type);
            }
        }
        allowed |= CMD_FLAG_FUA; // valid on every command once SEND_FUA is advertised (checked below)
        if ((r.flags & ~allowed) != 0) {
            return new Rejection(EINVAL, "flags 0x" + Integer.toHexString(r.flags & ~allowed) + " are not valid for "
                    + Commands.name(r.type));
        }
        if ((r.flags & CMD_FLAG_FUA) != 0 && !s.has(FLAG_SEND_FUA)) {
            return new Rejection(EINVAL, "FUA was not advertised for this export");
        }
        if ((r.flags & CMD_FLAG_DF) != 0 && !s.has(FLAG_SEND_DF)) {
            return new Rejection(EINVAL, "DF requires structured replies");
        }
        if ((r.flags & CMD_FLAG_FAST_ZERO) != 0 && !s.has(FLAG_SEND_FAST_ZERO)) {
            return new Rejection(EINVAL, "FAST_ZERO was not advertised for this export");
        }
        if (r.payloadDiscarded) {
            return new Rejection(EINVAL, "write of " + r.length + " bytes exceeds the maximum payload of "
                    + s.sizes().maximumPayload());
        }
        boolean writes = r.type == CMD_WRITE || r.type == CMD_TRIM || r.type == CMD_WRITE_ZEROES;
        if (writes && s.has(FLAG_READ_ONLY)) {
            return new Rejection(EPERM, "export '" + s.export().name() + "' is read-only");
        }
        switch (r.type) {
            case CMD_FLUSH -> {
                if (!s.has(FLAG_SEND_FLUSH)) {
                    return new Rejection(EINVAL, "FLUSH was not advertised for this export");
                }
                if (r.offset != 0 || r.length != 0) {
                    return new Rejection(EINVAL, "FLUSH must have offset and length 0");
                }
                return null;
            }
            case CMD_TRIM -> {
                if (!s.has(FLAG_SEND_TRIM)) {
                    return new Rejection(EINVAL, "TRIM was not advertised for this export");
                }
            }
            case CMD_WRITE_ZEROES -> {
                if (!s.has(FLAG_SEND_WRITE_ZEROES)) {
                    return new Rejection(EINVAL, "WRITE_ZEROES was not advertised for this export");
                }
            }
            case CMD_BLOCK_STATUS -> {
                if (s.metaContextId() < 0) {
                    return new Rejection(EINVAL, "BLOCK_STATUS needs base:allocation selected with NBD_OPT_SET_META_CONTEXT");
                }
                if (r.length == 0) {
                    return new Rejection(EINVAL, "BLOCK_STATUS of length 0");
                }
            }
            case CMD_READ -> {
                if (r.length > s.sizes().maximumPayload()) {
                    return new Rejection(s.structuredReplies() ? EOVERFLOW : EINVAL, "read of " + r.length
                            + " bytes exceeds the maximum payload of " + s.sizes().maximumPayload());
                }
            }
            default -> {
            }
        }
        long size = s.export().volume().size();
        if (!inRange(r.offset, r.length, size)) {
            int error = r.type == CMD_WRITE || r.type == CMD_WRITE_ZEROES ? ENOSPC : EINVAL;
            return new Rejection(error, "range [" + Long.toUnsignedString(r.offset) + ", +" + r.length
                    + ") is beyond the end of the export (" + size + " bytes)");
        }
        long min = s.sizes().minimum();
        if (min > 1 && ((r.offset & (min - 1)) != 0 || ((r.length & (min - 1)) != 0 && r.offset + r.length != size))) {
            return new Rejection(EINVAL, "offset and length must be multiples of the minimum block size " + min);
        }
        return null;
    }

    /** Offset is an unsigned 64-bit value: anything at or above 2^63 is out of range. */
    private static boolean inRange(long offset, long length, long size) {
        return offset >= 0 && offset <= size && length <= size - offset;
    }
}
