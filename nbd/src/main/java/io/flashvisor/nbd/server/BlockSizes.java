package io.flashvisor.nbd.server;

import io.flashvisor.common.VolumeFeatures;

/**
 * The size constraints advertised in {@code NBD_INFO_BLOCK_SIZE} and enforced on requests (spec
 * "Size constraints"): minimum from the volume; preferred from the volume but at least 512 and the
 * minimum, and at most the maximum payload; maximum payload from the server settings (raised to the
 * minimum block size in the odd case that it is smaller, so that one block always fits).
 */
record BlockSizes(int minimum, int preferred, int maximumPayload) {

    static BlockSizes of(VolumeFeatures features, int serverMaxPayload) {
        int minimum = features.minimumBlockSize();
        int maximum = Math.max(serverMaxPayload, minimum);
        int preferred = Math.min(Math.max(Math.max(features.preferredBlockSize(), 512), minimum), maximum);
        return new BlockSizes(minimum, preferred, maximum);
    }
}
