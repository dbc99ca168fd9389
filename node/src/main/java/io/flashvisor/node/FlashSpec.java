package io.flashvisor.node;

import io.flashvisor.destage.DestageSettings;
import java.nio.file.Path;

/**
 * The node's flash device, validated.
 *
 * @param device           file or block device holding the flash log
 * @param size             size of a file to create if it does not exist; 0: use the existing file or device
 * @param direct           open with {@code O_DIRECT}
 * @param eviction         eviction policy name, e.g. {@code s3-fifo}
 * @param sequentialCutoff run length from which a sequential stream bypasses flash; 0 never
 * @param destage          destager pacing (watermarks, batch size, retries)
 */
public record FlashSpec(Path device, long size, boolean direct, String eviction, long sequentialCutoff, DestageSettings destage) {
    public static final long DEFAULT_SEQUENTIAL_CUTOFF = 4L << 20;
}
