package io.flashvisor.cache.log;

import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds what the flash log holds after a crash or a clean stop (docs/cache.md, Recovery). Reads
 * only: it writes nothing, so an interrupted recovery run again gives the same result; the one
 * repair it asks for (discarding a torn tail) is done by {@link FlashLog#open} after it.
 *
 * <p>Design notes. Pass 1 reads block 0 of every segment (4 KiB each) to learn which segments are
 * live and the first sequence of each; since exactly one segment is open at a time, live segments
 * hold disjoint, ordered runs of sequences, so pass 2 can scan them one by one in that order and
 * hand every record to the listener in sequence order without holding the whole log in memory.
 * Pass 2 reads whole segments in large reads, a few segments ahead ({@link SegmentReadahead}).
 * A batch whose data fails a CRC is the torn tail only if it is the newest batch on the device:
 * the appender writes the next batch only after forcing the previous one, so at most that one
 * batch was ever unforced. Any other failing record is corruption and is reported lost.
 */
final class LogRecovery {
    private static final Logger LOG = LoggerFactory.getLogger(LogRecovery.class);

    /** The newest batch, torn by the crash; never acknowledged, so it is dropped without a loss. */
    record TornTail(int segment, int block, long firstSequence, long lastSequence) {
    }

    record Result(RecoverySummary summary, SegmentTable segments, TornTail tornTail) {
    }

    private final FlashLayout layout;
    private final RecoveryListener listener;
    private final SegmentTable table;
    private final boolean[] sealed;
    private long batches;
    private long records;
    private long lost;
    private long unreadable;
    private long maxSequence;
    private long maxGeneration;
    private TornTail torn;

    private LogRecovery(FlashLayout layout, RecoveryListener listener) {
        this.layout = layout;
        this.listener = listener;
        this.table = new SegmentTable(layout.segmentCount());
        this.sealed = new boolean[layout.segmentCount()];
    }

    static Result run(FlashChannel channel, Superblock superblock, RecoveryListener listener) throws IOException {
        long start = System.nanoTime();
        FlashLayout layout = superblock.layout();
        SegmentScanner scanner = new SegmentScanner(channel, layout, superblock.deviceUuid());
        int[] order = liveSegmentsInOrder(scanner, layout.segmentCount());
        LogRecovery recovery = new LogRecovery(layout, listener);
        long bytesRead;
        try (SegmentReadahead ahead = new SegmentReadahead(channel, layout, superblock.deviceUuid(), order)) {
            for (int k = 0; k < order.length; k++) {
                recovery.deliver(ahead.next(), k == order.length - 1);
            }
            bytesRead = scanner.bytesRead() + ahead.bytesRead();
        }
        return recovery.result(bytesRead, System.nanoTime() - start);
    }

    /** Pass 1: the segments whose block 0 is a valid header of this device, by first sequence. */
    private static int[] liveSegmentsInOrder(SegmentScanner scanner, int count) throws IOException {
        long[] firstSequence = new long[count];
        Integer[] live = new Integer[count];
        int n = 0;
        for (int s = 0; s < count; s++) {
            BatchHeader h = scanner.firstHeader(s);
            if (h != null) {
                firstSequence[s] = h.firstSequence();
                live[n++] = s;
            }
        }
        Integer[] order = Arrays.copyOf(live, n);
        Arrays.sort(order, Comparator.comparingLong(s -> firstSequence[s]));
        return Arrays.stream(order).mapToInt(Integer::intValue).toArray();
    }

    /** Pass 2, for one segment: hands its records to the listener; {@code newest}: it is the last one. */
    private void deliver(SegmentScanner.Scan scan, boolean newest) {
        int segment = scan.segment();
        if (!scan.live()) {
            return; // cannot happen: block 0 decoded in pass 1 and nothing has written since
        }
        if (scan.batches().getFirst().header().firstSequence() <= maxSequence) {
            LOG.warn("segment {} starts at sequence {}, below {} seen before; records are not in sequence order",
                    segment, scan.batches().getFirst().header().firstSequence(), maxSequence);
        }
        SegmentScanner.ScannedBatch last = newest ? scan.batches().getLast() : null;
        int used = scan.endBlock();
        for (SegmentScanner.Event event : scan.events()) {
            switch (event) {
                case SegmentScanner.Gap gap -> {
                    unreadable++;
                    LOG.error("segment {}: a corrupt batch header hides sequences {}..{}; their blocks are unknown",
                            segment, gap.firstSequence(), gap.lastSequence());
                    listener.onUnreadable(segment, gap.firstSequence(), gap.lastSequence());
                }
                case SegmentScanner.ScannedBatch batch -> {
                    BatchHeader h = batch.header();
                    maxSequence = Math.max(maxSequence, h.lastSequence());
                    maxGeneration = Math.max(maxGeneration, h.generation());
                    if (batch == last && batch.badData() != 0) {
                        torn = new TornTail(segment, batch.block(), h.firstSequence(), h.lastSequence());
                        used = batch.block();
                    } else {
                        batches++;
                        deliver(segment, batch);
                    }
                }
            }
        }
        if (used > 0) {
            table.recoveredSealed(segment, scan.generation(), used);
            sealed[segment] = true;
        }
    }

    private void deliver(int segment, SegmentScanner.ScannedBatch batch) {
        long dataBlock = layout.deviceBlock(segment, batch.block() + 1);
        List<RecordEntry> entries = batch.header().entries();
        for (int i = 0; i < entries.size(); i++) {
            RecordEntry e = entries.get(i);
            RecoveredRecord r = RecoveredRecord.of(e, segment, dataBlock);
            if ((batch.badData() & (1L << i)) != 0) {
                lost++;
                LOG.error("segment {}: data of {} failed its CRC; its blocks are lost", segment, r);
                listener.onLost(r);
            } else {
                records++;
                listener.onRecord(r);
            }
            if (e.type() == RecordType.DATA) {
                dataBlock += e.blockCount();
            }
        }
    }

    private Result result(long bytesRead, long nanos) {
        for (int s = 0; s < sealed.length; s++) {
            if (!sealed[s]) {
                table.addFree(s);
            }
        }
        RecoverySummary summary = new RecoverySummary(table.sealedCount(), batches, records, lost, unreadable,
                torn != null, maxSequence, maxGeneration, bytesRead, nanos);
        return new Result(summary, table, torn);
    }
}
