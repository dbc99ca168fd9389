package io.flashvisor.node.volume;

import io.flashvisor.cache.engine.CacheConfig;
import io.flashvisor.cache.engine.FlashCache;
import io.flashvisor.cache.engine.UnattachedVolume;
import io.flashvisor.cache.log.FileFlashChannel;
import io.flashvisor.cache.log.FlashChannel;
import io.flashvisor.cache.log.LogConfig;
import io.flashvisor.common.ByteSize;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's flash device: one file or block device holding the flash log that every cached volume
 * of the node shares. A new file is created (sparse, at {@code size}) and formatted; an existing one
 * is opened and recovered — never formatted unless it is blank.
 */
public final class FlashDevice implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FlashDevice.class);

    private final Path path;
    private final FlashCache cache;

    private FlashDevice(Path path, FlashCache cache) {
        this.path = path;
        this.cache = cache;
    }

    /**
     * @param size           the size of a file to create; 0 to use the existing file or device as it is
     * @param direct         open with {@code O_DIRECT} (a real SSD: bypass the page cache)
     * @param evictionPolicy e.g. {@code s3-fifo}
     */
    public static FlashDevice open(Path path, long size, boolean direct, String evictionPolicy) throws IOException {
        boolean exists = Files.exists(path);
        if (!exists && size <= 0) {
            throw new IOException("flash device " + path + " does not exist; give a size to create it as a file");
        }
        if (!exists || Files.isRegularFile(path) && Files.size(path) == 0) {
            try (var ch = java.nio.channels.FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                ch.truncate(size);
                ch.write(java.nio.ByteBuffer.allocate(1), size - 1);
            }
            LOG.info("flash device {} created as a {} file", path, ByteSize.format(size));
        } else if (size > 0 && Files.isRegularFile(path) && Files.size(path) != size) {
            throw new IOException("flash device " + path + " is " + ByteSize.format(Files.size(path)) + ", not the configured "
                    + ByteSize.format(size) + "; fix the size in the configuration (resizing a flash log is not supported)");
        }
        return open(FileFlashChannel.open(path, direct), path, evictionPolicy);
    }

    /** Opens (or formats, if blank) the flash log on {@code channel}; closes the channel on failure. */
    static FlashDevice open(FlashChannel channel, Path path, String evictionPolicy) throws IOException {
        try {
            CacheConfig config = CacheConfig.defaults().withLog(LogConfig.defaults()).withEvictionPolicy(evictionPolicy)
                    .withFormatIfBlank(true);
            return new FlashDevice(path, FlashCache.open(channel, config));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw new IOException("flash device " + path + ": " + e.getMessage(), e);
        }
    }

    public Path path() {
        return path;
    }

    public FlashCache cache() {
        return cache;
    }

    /** Says which volumes left dirty data on the device but are not attached now (call after attaching all). */
    public void warnAboutUnattachedDirtyData() {
        for (UnattachedVolume v : cache.unattachedVolumesWithDirtyData()) {
            LOG.warn("flash device {} holds dirty data of a volume that is not configured (id {}, {} blocks); it stays"
                    + " on flash until that volume is configured again", path, Long.toHexString(v.volumeId()), v.dirtyBlocks());
        }
    }

    /** Dirty blocks of all volumes / the device's capacity. */
    public double dirtyRatio() {
        return (double) cache.dirtyBlocks() / Math.max(1, cache.capacityBlocks());
    }

    @Override
    public void close() throws IOException {
        cache.close();
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
