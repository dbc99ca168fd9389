package io.flashvisor.common;

/** Range arithmetic that cannot overflow. */
public final class Ranges {
    private Ranges() {
    }

    /** True if {@code [offset, offset + length)} lies within {@code [0, size)}, without overflowing. */
    public static boolean within(long offset, long length, long size) {
        return offset >= 0 && length >= 0 && offset <= size && length <= size - offset;
    }

    /** Throws {@link VolumeException} with {@link BlockError#OVERFLOW} if the range is not within the volume. */
    public static void check(long offset, long length, long size) throws VolumeException {
        if (!within(offset, length, size)) {
            throw new VolumeException(BlockError.OVERFLOW,
                    "range [" + offset + ", +" + length + ") is outside the volume of " + size + " bytes");
        }
    }

    public static boolean isAligned(long value, long alignment) {
        return (value & (alignment - 1)) == 0;
    }

    public static long alignDown(long value, long alignment) {
        return value & -alignment;
    }

    public static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }
}
