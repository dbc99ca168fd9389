package io.flashvisor.sim.policy;

/**
 * What one replay of one policy at one cache size measured.
 *
 * @param policy          the policy's name
 * @param capacityBlocks  cache size in 4 KiB blocks (whole segments for node policies)
 * @param segmentBlocks   segment size in blocks for node policies, 0 for reference models
 * @param accesses        block accesses replayed
 * @param hits            accesses that found their block cached
 * @param bytes           bytes the accesses covered
 * @param hitBytes        bytes of the hits
 * @param writes          block accesses that were writes
 * @param flashWrites     blocks written to flash: misses (inserts), write hits, re-appends
 * @param reappends       of those, blocks the log's reclaim moved (node policies only)
 * @param peakDirtyBlocks most dirty blocks at once under write-back
 * @param forcedWriteBacks dirty blocks written back on eviction or because flash was full of them
 * @param nanos           CPU time of the replaying thread in the replay loop
 */
public record ReplayResult(String policy, long capacityBlocks, int segmentBlocks, long accesses, long hits,
                           long bytes, long hitBytes, long writes, long flashWrites, long reappends, long peakDirtyBlocks,
                           long forcedWriteBacks, long nanos) {

    public double hitRatio() {
        return accesses == 0 ? 0 : (double) hits / accesses;
    }

    public double missRatio() {
        return accesses == 0 ? 0 : 1 - hitRatio();
    }

    public double byteHitRatio() {
        return bytes == 0 ? 0 : (double) hitBytes / bytes;
    }

    /** Flash wear: blocks written to flash per block the clients wrote (fills of read misses included). */
    public double flashWritesPerWrite() {
        return writes == 0 ? Double.NaN : (double) flashWrites / writes;
    }

    public long peakDirtyBytes() {
        return peakDirtyBlocks * 4096;
    }

    /** Block accesses replayed per CPU-second of the replaying thread: the per-core throughput. */
    public double accessesPerSecond() {
        return nanos == 0 ? 0 : accesses * 1e9 / nanos;
    }
}
