package io.flashvisor.cache.log;

/**
 * A record as found on flash, by recovery or by {@link FlashLog#readSegment}.
 *
 * @param segment     the segment that holds it
 * @param deviceBlock the device block of its first data block (DATA), or -1 (markers)
 * @param dataCrc     CRC32C of its data (DATA), or 0; pass it to {@link FlashLog#readRecord}
 */
public record RecoveredRecord(RecordType type, long volumeId, long firstBlock, int blockCount, long sequence,
                              long aux, boolean dirty, int epoch, long originHost, int segment, long deviceBlock,
                              int dataCrc) {

    static RecoveredRecord of(RecordEntry e, int segment, long deviceBlock) {
        return new RecoveredRecord(e.type(), e.volumeId(), e.firstBlock(), e.blockCount(), e.sequence(), e.aux(),
                e.dirty(), e.epoch(), e.originHost(), segment, e.type() == RecordType.DATA ? deviceBlock : -1,
                e.dataCrc());
    }
}
