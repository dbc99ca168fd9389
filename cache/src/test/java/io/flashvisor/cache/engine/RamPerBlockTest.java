package io.flashvisor.cache.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.cache.index.BlockIndex;
import io.flashvisor.cache.policy.BlockState;
import io.flashvisor.cache.policy.EvictionPolicies;
import io.flashvisor.cache.policy.Queue;
import org.junit.jupiter.api.Test;

/**
 * RAM per cached block of a full device: what {@link FlashCache} builds for a device of 1 M blocks
 * (4 GiB) — the index sized up front, the S3-FIFO ghost, the segment pins — filled completely, plus
 * the dirty tracker with 10 % of the blocks dirty (the volume layer's dirty ratio bounds it), counted
 * from the structures' sizes and measured as heap growth; then extrapolated to 1 TiB (268 M blocks).
 */
class RamPerBlockTest {
    static final long BLOCKS = 1 << 20;
    static final long TIB_BLOCKS = (1L << 40) / 4096;
    static final int BLOCKS_PER_SEGMENT = 1024; // 4 MiB segments

    @Test
    void ramPerCachedBlockOfAFullDevice() throws Exception {
        long before = usedHeap();
        CacheIndex ci = new CacheIndex(BlockIndex.withExpectedSize(BLOCKS), EvictionPolicies.create("s3-fifo", BLOCKS), 2);
        SegmentPins pins = new SegmentPins((int) (BLOCKS / BLOCKS_PER_SEGMENT));
        int ordinal = ci.ordinalFor(FlashCache.volumeId("vm-1"));
        byte clean = BlockState.of(Queue.MAIN);
        byte dirty = BlockState.withDirty(clean, true);
        DirtyVersions versions = ci.dirty(ordinal);
        long dirtyBlocks = 0;
        for (long b = 0; b < BLOCKS; b++) {
            boolean d = b % 10 == 0;
            ci.put(ordinal, BlockIndex.key(ordinal, b), (int) (256 + b), d ? dirty : clean);
            if (d) {
                versions.add(b, 1 + b / 200_000, (int) (256 + b), b);
                dirtyBlocks++;
            }
        }
        for (long b = 0; b < BLOCKS; b += 7) {
            ci.policy.forgotten(BlockIndex.key(ordinal, b + BLOCKS)); // a ghost that has seen evictions
        }
        long measured = usedHeap() - before;

        long index = ci.index.bytesOfRam();
        long ghost = ci.policy.bytesOfRam();
        long tracker = ci.dirtyBytesOfRam();
        long pinBytes = (long) pins.segments() * Integer.BYTES;
        double perBlock = (double) (index + ghost + pinBytes) / BLOCKS;
        double perDirty = (double) tracker / dirtyBlocks;
        double total = (double) (index + ghost + pinBytes + tracker) / BLOCKS;
        System.out.printf("RAM per cached block, device of %d blocks, full, %d dirty (10 %%):%n", BLOCKS, dirtyBlocks);
        System.out.printf("  block index  %6.2f B/block (%d slots of 13 B)%n", (double) index / BLOCKS, ci.index.capacity());
        System.out.printf("  S3-FIFO ghost %5.2f B/block%n", (double) ghost / BLOCKS);
        System.out.printf("  segment pins %6.3f B/block%n", (double) pinBytes / BLOCKS);
        System.out.printf("  dirty tracker %5.2f B per dirty version (%.2f B/block at 10 %% dirty)%n", perDirty,
                (double) tracker / BLOCKS);
        System.out.printf("  total        %6.2f B/block counted, %6.2f B/block measured (heap growth)%n", total,
                (double) measured / BLOCKS);
        System.out.printf("  1 TiB device (%d blocks): %.2f GiB clean, %.2f GiB at 10 %% dirty%n", TIB_BLOCKS,
                perBlock * TIB_BLOCKS / (1L << 30), total * TIB_BLOCKS / (1L << 30));
        assertThat(ci.index.size()).isEqualTo(BLOCKS);
        assertThat(ci.index.capacity()).as("sized up front, never grown").isLessThan((int) (BLOCKS * 100 / 84));
        assertThat(perBlock).isLessThan(17);
        assertThat(perDirty).isLessThan(64);
        // Heap growth runs above the count by a fixed amount (G1 rounds each large array up to whole
        // regions; map nodes): 26.6 vs 19.4 B/block at 1 M blocks, 21.7 vs 19.4 at 4 M.
        assertThat((double) measured / BLOCKS).isLessThan(total * 1.5);
    }

    private static long usedHeap() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
            used = Math.min(used, rt.totalMemory() - rt.freeMemory());
        }
        return used;
    }
}
