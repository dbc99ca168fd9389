package io.flashvisor.cache.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * The on-disk codecs: round trips, and that no input — garbage, garbage made to pass the
 * checksum, or a valid block with flipped bits — makes a decoder throw anything but
 * {@link FormatException} or accept a block that does not re-encode to the same bytes.
 */
class CodecPropertiesTest {
    private static final UUID DEVICE = new UUID(0x1234_5678_9ABC_DEF0L, 0x0FED_CBA9_8765_4321L);

    @Provide
    Arbitrary<Superblock> superblocks() {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.longs(), Arbitraries.longs().between(0, Long.MAX_VALUE),
                        Arbitraries.integers().between(18, 28), Arbitraries.integers().between(1, Integer.MAX_VALUE),
                        Arbitraries.longs().between(2, 1 << 20))
                .as((msb, lsb, created, shift, count, offsetBlocks) -> new Superblock(new UUID(msb, lsb), created,
                        1 << shift, count, offsetBlocks * FlashLayout.BLOCK_SIZE));
    }

    private record Tail(int crc, int epoch, long origin, long flushEpoch) {
    }

    @Provide
    Arbitrary<RecordEntry> entries() {
        Arbitrary<RecordType> types = Arbitraries.of(RecordType.class);
        Arbitrary<Integer> counts = Arbitraries.integers().between(1, 1 << 16);
        Arbitrary<Long> blocks = Arbitraries.longs().between(0, Record.MAX_BLOCK_END - (1 << 16));
        Arbitrary<Tail> tails = Combinators.combine(Arbitraries.integers(), Arbitraries.integers(), Arbitraries.longs(),
                Arbitraries.longs()).as(Tail::new);
        return Combinators.combine(types, Arbitraries.longs(), blocks, counts, Arbitraries.longs(), Arbitraries.of(true, false), tails)
                .as((type, volume, first, count, aux, dirty, t) -> new RecordEntry(type, volume, first, count,
                        0, aux, type == RecordType.DATA && dirty, type == RecordType.DATA ? t.crc() : 0, t.epoch(), t.origin(),
                        type == RecordType.DATA ? t.flushEpoch() : 0));
    }

    @Provide
    Arbitrary<BatchHeader> headers() {
        return Combinators.combine(entries().list().ofMinSize(1).ofMaxSize(63), Arbitraries.longs().between(1, Long.MAX_VALUE),
                        Arbitraries.longs(), Arbitraries.longs().between(1, Long.MAX_VALUE - 64),
                        Arbitraries.integers().between(0, BatchHeader.MAX_STREAMS - 1))
                .as((list, generation, salt, first, stream) -> {
                    List<RecordEntry> numbered = new ArrayList<>();
                    long data = 0;
                    for (int i = 0; i < list.size(); i++) {
                        RecordEntry e = list.get(i);
                        numbered.add(new RecordEntry(e.type(), e.volumeId(), e.firstBlock(), e.blockCount(), first + i,
                                e.aux(), e.dirty(), e.dataCrc(), e.epoch(), e.originHost(), e.flushEpoch()));
                        data += e.type() == RecordType.DATA ? e.blockCount() : 0;
                    }
                    return new BatchHeader(DEVICE, stream, generation, salt, first, (int) Math.min(data, Integer.MAX_VALUE),
                            numbered);
                })
                .filter(h -> h.entries().stream().filter(e -> e.type() == RecordType.DATA)
                        .mapToLong(RecordEntry::blockCount).sum() == h.dataBlocks());
    }

    @Property
    void superblockRoundTrips(@ForAll("superblocks") Superblock sb) throws FormatException {
        ByteBuffer block = ByteBuffer.allocate(FlashLayout.BLOCK_SIZE);
        sb.encode(block);
        assertThat(Superblock.decode(block)).isEqualTo(sb);
    }

    @Property
    void entryRoundTrips(@ForAll("entries") RecordEntry e) throws FormatException {
        ByteBuffer buffer = ByteBuffer.allocate(RecordEntry.SIZE);
        e.encode(buffer, 0);
        assertThat(RecordEntry.decode(buffer, 0)).isEqualTo(e);
    }

    @Property
    void entryKeepsTheFlushEpochOfDataAndRefusesOneOnMarkers(@ForAll("entries") RecordEntry e, @ForAll long flushEpoch)
            throws FormatException {
        RecordEntry with = new RecordEntry(e.type(), e.volumeId(), e.firstBlock(), e.blockCount(), e.sequence(), e.aux(),
                e.dirty(), e.dataCrc(), e.epoch(), e.originHost(), flushEpoch);
        ByteBuffer buffer = ByteBuffer.allocate(RecordEntry.SIZE);
        with.encode(buffer, 0);
        assertThat(buffer.getLong(56)).isEqualTo(flushEpoch);
        if (e.type() == RecordType.DATA || flushEpoch == 0) {
            assertThat(RecordEntry.decode(buffer, 0).flushEpoch()).isEqualTo(flushEpoch);
        } else {
            assertThatThrownBy(() -> RecordEntry.decode(buffer, 0)).isInstanceOf(FormatException.class)
                    .hasMessageContaining("flush epoch");
        }
    }

    @Property(tries = 500)
    void headerRoundTrips(@ForAll("headers") BatchHeader h) throws FormatException {
        ByteBuffer block = encode(h);
        assertThat(block.getInt(36)).isEqualTo(h.stream());
        assertThat(BatchHeader.decode(block, 0, DEVICE, h.dataBlocks())).isEqualTo(h);
    }

    @Property
    void headerRefusesAStreamOutOfRange(@ForAll("headers") BatchHeader h,
                                        @ForAll @IntRange(min = BatchHeader.MAX_STREAMS) int stream) {
        ByteBuffer block = encode(h);
        block.putInt(36, stream);
        block.putInt(BatchHeader.CRC_OFFSET, BatchHeader.crc(block, 0));
        assertThatThrownBy(() -> BatchHeader.decode(block, 0, DEVICE, h.dataBlocks())).isInstanceOf(FormatException.class)
                .hasMessageContaining("stream");
        assertThatThrownBy(() -> new BatchHeader(DEVICE, stream, h.generation(), h.salt(), h.firstSequence(), h.dataBlocks(),
                h.entries()).encode(ByteBuffer.allocate(FlashLayout.BLOCK_SIZE))).isInstanceOf(IllegalArgumentException.class);
    }

    @Property
    void headerRefusesDataBeyondItsSegment(@ForAll("headers") BatchHeader h) {
        ByteBuffer block = encode(h);
        if (h.dataBlocks() > 0) {
            assertThatThrownBy(() -> BatchHeader.decode(block, 0, DEVICE, h.dataBlocks() - 1)).isInstanceOf(FormatException.class);
        }
        assertThatThrownBy(() -> BatchHeader.decode(block, 0, UUID.randomUUID(), h.dataBlocks()))
                .isInstanceOf(FormatException.class);
    }

    @Property
    void flippedBitsNeverDecode(@ForAll("headers") BatchHeader h, @ForAll("superblocks") Superblock sb,
                                @ForAll @Size(min = 1, max = 3) List<@IntRange(min = 0, max = 4096 * 8 - 1) Integer> bits) {
        // CRC32C detects every error of up to 3 bits in a 4 KiB block (Hamming distance 4 at this length).
        List<Integer> distinct = bits.stream().distinct().toList();
        ByteBuffer header = flip(encode(h), distinct);
        assertThatThrownBy(() -> BatchHeader.decode(header, 0, DEVICE, Integer.MAX_VALUE)).isInstanceOf(FormatException.class);
        ByteBuffer block = ByteBuffer.allocate(FlashLayout.BLOCK_SIZE);
        sb.encode(block);
        ByteBuffer flipped = flip(block, distinct);
        assertThatThrownBy(() -> Superblock.decode(flipped)).isInstanceOf(FormatException.class);
    }

    @Property(tries = 3000)
    void garbageNeverThrowsUnchecked(@ForAll long seed) {
        ByteBuffer block = garbage(seed);
        decodesCanonicallyOrFails(block);
    }

    /** Garbage that passes the first checks (magic, version, uuid, checksum) so that every later check is exercised. */
    @Property(tries = 3000)
    void checksummedGarbageNeverThrowsUnchecked(@ForAll long seed, @ForAll @IntRange(min = 0, max = 70) int count,
                                                @ForAll boolean zeroTail) {
        ByteBuffer block = garbage(seed);
        block.putInt(0, BatchHeader.MAGIC).putShort(4, (short) 1).putShort(6, (short) count);
        block.putLong(8, DEVICE.getMostSignificantBits()).putLong(16, DEVICE.getLeastSignificantBits());
        if (zeroTail) {
            for (int i = 64 + Math.min(count, 63) * 64; i < 4096; i++) {
                block.put(i, (byte) 0);
            }
        }
        block.putInt(BatchHeader.CRC_OFFSET, BatchHeader.crc(block, 0));
        decodesCanonicallyOrFails(block);
        Superblock.looksOurs(block);
        block.put(0, Superblock.MAGIC);
        block.putInt(Superblock.CRC_OFFSET, Buffers.crc32c(block, 0, Superblock.CRC_OFFSET));
        decodesCanonicallyOrFails(block);
    }

    private static void decodesCanonicallyOrFails(ByteBuffer block) {
        try {
            BatchHeader h = BatchHeader.decode(block, 0, DEVICE, Integer.MAX_VALUE);
            assertThat(encode(h)).isEqualTo(block.duplicate().clear());
        } catch (FormatException expected) {
            // fine
        }
        try {
            Superblock sb = Superblock.decode(block);
            ByteBuffer again = ByteBuffer.allocate(FlashLayout.BLOCK_SIZE);
            sb.encode(again);
            assertThat(again).isEqualTo(block.duplicate().clear());
        } catch (FormatException expected) {
            // fine
        }
    }

    private static ByteBuffer garbage(long seed) {
        byte[] bytes = new byte[FlashLayout.BLOCK_SIZE];
        new SplittableRandom(seed).nextBytes(bytes);
        return ByteBuffer.wrap(bytes);
    }

    private static ByteBuffer encode(BatchHeader h) {
        ByteBuffer block = ByteBuffer.allocate(FlashLayout.BLOCK_SIZE);
        h.encode(block);
        return block;
    }

    private static ByteBuffer flip(ByteBuffer block, List<Integer> bits) {
        ByteBuffer copy = ByteBuffer.allocate(block.capacity()).put(block.duplicate().clear()).clear();
        for (int bit : bits) {
            copy.put(bit / 8, (byte) (copy.get(bit / 8) ^ (1 << (bit % 8))));
        }
        return copy;
    }
}
