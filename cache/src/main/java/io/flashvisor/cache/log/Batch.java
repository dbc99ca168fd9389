package io.flashvisor.cache.log;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * One batch being built by the appender: which stream and segment it goes to, the appends packed
 * into it (all of that stream) and the one
 * aligned buffer that holds its header and data, so that it is written with one {@code pwrite}.
 * Not thread-safe: the appender owns it.
 */
final class Batch {
    final List<PendingAppend> appends = new ArrayList<>();
    int stream;
    int segment;
    int block;
    long generation;
    long salt;
    long firstSequence;
    int entries;
    int dataBlocks;
    private final ByteBuffer buffer;

    Batch(int maxDataBlocks) {
        this.buffer = Buffers.alignedDirect((1 + maxDataBlocks) * FlashLayout.BLOCK_SIZE);
    }

    void reset(int stream, int segment, int block, long generation, long salt) {
        appends.clear();
        this.stream = stream;
        this.segment = segment;
        this.block = block;
        this.generation = generation;
        this.salt = salt;
        this.entries = 0;
        this.dataBlocks = 0;
    }

    boolean fits(PendingAppend a, int roomBlocks) {
        assert a.stream == stream;
        return entries + a.records.size() <= BatchHeader.MAX_ENTRIES && dataBlocks + a.dataBlocks <= roomBlocks;
    }

    void add(PendingAppend a) {
        appends.add(a);
        entries += a.records.size();
        dataBlocks += a.dataBlocks;
    }

    int blocks() {
        return 1 + dataBlocks;
    }

    /**
     * Encodes header and data into the buffer and returns it, ready to write; {@code results}
     * receives each append's result, to hand out once the batch is durable.
     */
    ByteBuffer encode(UUID uuid, FlashLayout layout, List<AppendResult> results) {
        List<RecordEntry> list = new ArrayList<>(entries);
        long sequence = firstSequence;
        long dataBlock = layout.deviceBlock(segment, block + 1);
        int dataOffset = FlashLayout.BLOCK_SIZE;
        for (PendingAppend a : appends) {
            long[] locations = new long[a.records.size()];
            long appendFirst = sequence;
            for (int i = 0; i < a.records.size(); i++) {
                Record r = a.records.get(i);
                list.add(r.entry(sequence++));
                if (r.type() == RecordType.DATA) {
                    locations[i] = dataBlock;
                    buffer.put(dataOffset, r.data(), 0, r.blockCount() * FlashLayout.BLOCK_SIZE);
                    dataBlock += r.blockCount();
                    dataOffset += r.blockCount() * FlashLayout.BLOCK_SIZE;
                } else {
                    locations[i] = -1;
                }
            }
            results.add(new AppendResult(stream, segment, appendFirst, locations));
        }
        new BatchHeader(uuid, stream, generation, salt, firstSequence, dataBlocks, list).encode(buffer);
        return buffer.slice(0, blocks() * FlashLayout.BLOCK_SIZE);
    }
}
