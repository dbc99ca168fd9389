package io.flashvisor.common;

/**
 * A run of bytes with uniform allocation state, as NBD's {@code base:allocation} reports it.
 *
 * @param length bytes in the run, {@code > 0}
 * @param hole   the run is not allocated (reads may still return data if {@code zero} is false)
 * @param zero   the run reads as zeroes
 */
public record Extent(long length, boolean hole, boolean zero) {
    public Extent {
        if (length <= 0) {
            throw new IllegalArgumentException("extent length must be positive: " + length);
        }
    }
}
