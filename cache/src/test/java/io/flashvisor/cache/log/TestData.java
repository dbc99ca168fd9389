package io.flashvisor.cache.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.SplittableRandom;

/**
 * Deterministic records for log tests: record {@code id} covers blocks {@code [id * 8, +n)}, so a
 * recovered record names the record it should be, and its data is generated from the id.
 */
final class TestData {
    static final int SEGMENT = 256 << 10;

    private TestData() {
    }

    /**
     * Small segments and batches, so that tests cross segment boundaries and tear small writes; the
     * default 2 streams and 2 reserved segments (a device needs at least 5 segments).
     */
    static LogConfig smallConfig() {
        return LogConfig.defaults().withSegmentSize(SEGMENT).withMaxBatchBytes(32 << 10)
                .withFreeSegmentWait(Duration.ofSeconds(5)).withReservedSegments(2).withStreams(2);
    }

    static int deviceSize(int segments) {
        return (1 << 20) + segments * SEGMENT;
    }

    static ByteBuffer blocks(long seed, int count) {
        byte[] bytes = new byte[count * FlashLayout.BLOCK_SIZE];
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 1);
        for (int i = 0; i < bytes.length; i += 8) {
            long v = r.nextLong();
            for (int j = 0; j < 8; j++) {
                bytes[i + j] = (byte) (v >>> (j * 8));
            }
        }
        return ByteBuffer.wrap(bytes);
    }

    /**
     * A record of a mix of kinds: mostly DATA of 1–{@code maxBlocks} blocks (with flush epochs of
     * every size, unsigned ones above 2^63 too), some markers, some replicas.
     */
    static Record record(long id, int maxBlocks) {
        SplittableRandom r = new SplittableRandom(id);
        int kind = r.nextInt(6);
        long volume = 100 + id % 3;
        Record rec = switch (kind) {
            case 4 -> Record.clean(volume, id * 8, 1 + r.nextInt(4), id);
            case 5 -> Record.invalidate(volume, id * 8, 1 + r.nextInt(4));
            default -> Record.data(volume, id * 8, blocks(id, 1 + r.nextInt(maxBlocks)), r.nextBoolean(), flushEpoch(id));
        };
        return id % 7 == 0 ? rec.withOrigin((int) (id % 1000), 0xABCDL + id) : rec;
    }

    /** The flush epoch of DATA record {@code id}: 0, small, or an unsigned value above 2^63. */
    static long flushEpoch(long id) {
        return switch ((int) (id % 3)) {
            case 0 -> 0;
            case 1 -> 1 + id / 3;
            default -> 0x8000_0000_0000_0000L | id;
        };
    }

    static long idOf(RecoveredRecord r) {
        return r.firstBlock() / 8;
    }

    /** Asserts that {@code r} is exactly {@code expected}, data included, reading the data from {@code image}. */
    static void assertSame(RecoveredRecord r, Record expected, byte[] image) {
        assertThat(r.type()).isEqualTo(expected.type());
        assertThat(r.volumeId()).isEqualTo(expected.volumeId());
        assertThat(r.firstBlock()).isEqualTo(expected.firstBlock());
        assertThat(r.blockCount()).isEqualTo(expected.blockCount());
        assertThat(r.aux()).isEqualTo(expected.aux());
        assertThat(r.dirty()).isEqualTo(expected.dirty());
        assertThat(r.epoch()).isEqualTo(expected.epoch());
        assertThat(r.originHost()).isEqualTo(expected.originHost());
        assertThat(r.flushEpoch()).isEqualTo(expected.flushEpoch());
        assertThat(r.dataCrc()).isEqualTo(expected.dataCrc());
        if (r.type() == RecordType.DATA) {
            int bytes = r.blockCount() * FlashLayout.BLOCK_SIZE;
            ByteBuffer actual = ByteBuffer.wrap(image, (int) (r.deviceBlock() * FlashLayout.BLOCK_SIZE), bytes);
            assertThat(actual).as("data of record %d", idOf(r)).isEqualTo(blocks(idOf(r), r.blockCount()));
        } else {
            assertThat(r.deviceBlock()).isEqualTo(-1);
        }
    }

    static Superblock superblockOf(byte[] image) throws FormatException {
        return Superblock.decode(ByteBuffer.wrap(image, 0, FlashLayout.BLOCK_SIZE).slice());
    }
}
