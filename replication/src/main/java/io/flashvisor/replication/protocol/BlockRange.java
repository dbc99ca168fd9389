package io.flashvisor.replication.protocol;

/** Blocks {@code [firstBlock, firstBlock + blockCount)} of a volume. On the wire: first block u64, count u32. */
public record BlockRange(long firstBlock, int blockCount) {
    public static final int SIZE = 12;

    public BlockRange {
        Blocks.checkRange(firstBlock, blockCount);
    }

    public long endBlock() {
        return firstBlock + blockCount;
    }

    public boolean contains(long block) {
        return block >= firstBlock && block < endBlock();
    }
}
