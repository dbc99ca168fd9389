package io.flashvisor.cache.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class BlockIndexTest {

    /** Random puts and removes over a small key space (long probe runs, wrap-around) match a HashMap. */
    @Property(tries = 300)
    void behavesLikeAMap(@ForAll("ops") int[] ops, @ForAll @IntRange(min = 1, max = 64) int keySpace) {
        BlockIndex index = new BlockIndex();
        Map<Long, Integer> model = new HashMap<>();
        for (int op : ops) {
            long key = BlockIndex.key(op & 3, Math.floorMod(op >> 2, keySpace) * 4096L);
            if ((op & 0x40000000) != 0) {
                assertThat(index.remove(key)).isEqualTo(model.remove(key) != null);
            } else {
                int location = op >>> 8 & 0xFFFFF;
                index.put(key, location, (byte) op);
                model.put(key, location);
            }
            assertThat(index.size()).isEqualTo(model.size());
        }
        for (Map.Entry<Long, Integer> e : model.entrySet()) {
            assertThat(index.location(e.getKey())).isEqualTo(e.getValue());
        }
        Map<Long, Integer> seen = new HashMap<>();
        index.forEach((k, loc, state) -> seen.put(k, loc));
        assertThat(seen).isEqualTo(model);
    }

    @Provide
    Arbitrary<int[]> ops() {
        return Arbitraries.integers().array(int[].class).ofMaxSize(3000);
    }

    @Test
    void keysSeparateVolumesAndBlocks() {
        long k = BlockIndex.key(7, BlockIndex.MAX_BLOCK);
        assertThat(BlockIndex.volumeOf(k)).isEqualTo(7);
        assertThat(BlockIndex.blockOf(k)).isEqualTo(BlockIndex.MAX_BLOCK);
        assertThat(BlockIndex.key(0, 0)).isNotEqualTo(BlockIndex.EMPTY);
    }

    /**
     * The figure docs/cache.md promises: an index sized for the flash device holds its blocks at
     * ≤ 16 bytes of RAM each. (Counts bytes of the arrays, not time.)
     */
    @Test
    void ramPerCachedBlockOfAFullDevice() {
        long deviceBlocks = 3_000_000; // ~11.4 GiB of flash
        BlockIndex index = BlockIndex.withExpectedSize(deviceBlocks);
        int capacity = index.capacity();
        for (long b = 0; b < deviceBlocks; b++) {
            index.put(BlockIndex.key((int) (b % 5), b), (int) b, (byte) 1);
        }
        assertThat(index.capacity()).as("no growth").isEqualTo(capacity);
        double perBlock = (double) index.bytesOfRam() / index.size();
        assertThat(perBlock).isLessThanOrEqualTo(16.0);
    }
}
