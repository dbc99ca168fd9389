package io.flashvisor.common;

/** Why a {@link BlockVolume} call failed; each maps to one NBD error code (and one errno). */
public enum BlockError {
    /** The storage failed (EIO). */
    IO,
    /** No space left (ENOSPC). */
    NO_SPACE,
    /** The request is malformed or out of range (EINVAL). */
    INVALID,
    /** The volume is read-only (EPERM). */
    PERMISSION,
    /** The operation is not supported, e.g. a fast zero that would be slow (ENOTSUP). */
    NOT_SUPPORTED,
    /** The request lies beyond the end of the volume (EOVERFLOW). */
    OVERFLOW,
    /** The volume is shutting down (ESHUTDOWN). */
    SHUTDOWN
}
