package io.flashvisor.common;

/**
 * What a {@link BlockVolume} supports. The NBD server advertises exactly these flags, so a feature
 * may only be true when the volume really honours it (e.g. {@code multiConn}: a flush on one
 * connection covers writes completed on every other connection).
 */
public record VolumeFeatures(
        boolean readOnly,
        boolean flush,
        boolean fua,
        boolean trim,
        boolean writeZeroes,
        boolean fastZero,
        boolean multiConn,
        boolean cache,
        boolean rotational,
        int minimumBlockSize,
        int preferredBlockSize) {

    public VolumeFeatures {
        if (Integer.bitCount(minimumBlockSize) != 1 || minimumBlockSize > 65536) {
            throw new IllegalArgumentException("minimumBlockSize must be a power of two <= 64 KiB: " + minimumBlockSize);
        }
        if (Integer.bitCount(preferredBlockSize) != 1 || preferredBlockSize < minimumBlockSize) {
            throw new IllegalArgumentException("preferredBlockSize must be a power of two >= minimumBlockSize: " + preferredBlockSize);
        }
    }

    /** A writable volume on durable storage that supports everything. */
    public static VolumeFeatures full() {
        return new VolumeFeatures(false, true, true, true, true, false, true, true, false, 1, 4096);
    }

    public VolumeFeatures withReadOnly(boolean value) {
        return new VolumeFeatures(value, flush, fua, trim, writeZeroes, fastZero, multiConn, cache, rotational,
                minimumBlockSize, preferredBlockSize);
    }
}
