package io.flashvisor.cache.log;

import java.util.List;

/**
 * The records of one segment, re-read from flash ({@link FlashLog#readSegment}).
 *
 * @param records intact records in sequence order
 * @param lost    DATA records whose data failed its CRC
 * @param unreadableRecords records under corrupt headers, which cannot be named
 */
public record SegmentContents(int segment, long generation, List<RecoveredRecord> records, List<RecoveredRecord> lost,
                              long unreadableRecords) {
    public SegmentContents {
        records = List.copyOf(records);
        lost = List.copyOf(lost);
    }
}
