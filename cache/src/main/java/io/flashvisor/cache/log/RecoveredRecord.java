package io.flashvisor.cache.log;

/**
 * A record as found on flash, by recovery or by {@link FlashLog#readSegment}.
 *
 * @param flushEpoch  the volume's flush epoch of a write-back DATA record (unsigned), or 0
 * @param epoch       a peer replica's epoch (0 for the host's own records)
 * @param stream      the append stream of the segment that holds it (the policy queue it is in)
 * @param segment     the segment that holds it
 * @param deviceBlock the device block of its first data block (DATA), or -1 (markers)
 * @param dataCrc     CRC32C of its data (DATA), or 0; pass it to {@link FlashLog#readRecord}
 */
public record RecoveredRecord(RecordType type, long volumeId, long firstBlock, int blockCount, long sequence,
                              long aux, boolean dirty, long flushEpoch, int epoch, long originHost, int stream,
                              int segment, long deviceBlock, int dataCrc) {

    static RecoveredRecord of(RecordEntry e, int stream, int segment, long deviceBlock) {
        return new RecoveredRecord(e.type(), e.volumeId(), e.firstBlock(), e.blockCount(), e.sequence(), e.aux(),
                e.dirty(), e.flushEpoch(), e.epoch(), e.originHost(), stream, segment,
                e.type() == RecordType.DATA ? deviceBlock : -1, e.dataCrc());
    }
}
