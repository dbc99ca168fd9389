package io.flashvisor.cache.log;

import java.util.List;

/**
 * The records of one segment, re-read from flash ({@link FlashLog#readSegment}).
 *
 * @param stream  the append stream the segment belongs to
 * @param records intact records in sequence order
 * @param lost    DATA records whose data failed its CRC
 * @param unreadableRecords sequences under corrupt headers, which cannot be named (an upper bound on
 *                          the records lost there: the run may span sequences of other streams)
 */
public record SegmentContents(int segment, int stream, long generation, List<RecoveredRecord> records, List<RecoveredRecord> lost,
                              long unreadableRecords) {
    public SegmentContents {
        records = List.copyOf(records);
        lost = List.copyOf(lost);
    }
}
