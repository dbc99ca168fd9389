package io.flashvisor.cache.log;

import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds what the flash log holds after a crash or a clean stop (docs/cache.md, Recovery). Reads
 * only: it writes nothing, so an interrupted recovery run again gives the same result; the one
 * repair it asks for (discarding a torn tail) is done by {@link FlashLog#open} after it.
 *
 * <p>Design notes. Pass 1 reads block 0 of every segment (4 KiB each) to learn which segments are
 * live, their stream and the first sequence of each. Each stream has one open segment at a time,
 * so one stream's segments hold disjoint, ordered runs of sequences, but the streams' runs
 * interleave. Pass 2 therefore merges: segments are scanned in order of first sequence (the order
 * in which the merge first needs them), and the batches of the segments being read (about one per
 * stream) are handed to the listener in sequence order, so the whole log is never held in memory.
 * Pass 2 reads whole segments in large reads, a few segments ahead ({@link SegmentReadahead}).
 * A batch whose data fails a CRC is the torn tail only if it is the newest batch on the device —
 * the one with the highest sequence, which the merge reaches last, in whichever stream's segment it
 * is: the appender writes the next batch, of any stream, only after forcing the previous one, so at
 * most that one batch was ever unforced. Any other failing record is corruption and is reported lost.
 */
final class LogRecovery {
    private static final Logger LOG = LoggerFactory.getLogger(LogRecovery.class);

    /** The newest batch, torn by the crash; never acknowledged, so it is dropped without a loss. */
    record TornTail(int segment, int block, long firstSequence, long lastSequence) {
    }

    record Result(RecoverySummary summary, SegmentTable segments, TornTail tornTail) {
    }

    /** A segment being merged: its scan and the next event to hand out. */
    private static final class Cursor {
        final SegmentScanner.Scan scan;
        int index;
        int used;

        Cursor(SegmentScanner.Scan scan) {
            this.scan = scan;
            this.used = scan.endBlock();
        }

        boolean hasNext() {
            return index < scan.events().size();
        }

        /** The lowest sequence of the next event: where it goes in the merge. */
        long nextSequence() {
            return switch (scan.events().get(index)) {
                case SegmentScanner.ScannedBatch b -> b.header().firstSequence();
                case SegmentScanner.Gap g -> g.firstSequence();
            };
        }
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
    private long lastDelivered;
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
        long[] firstSequence = new long[layout.segmentCount()];
        int[] order = liveSegmentsInOrder(scanner, firstSequence);
        LogRecovery recovery = new LogRecovery(layout, listener);
        long bytesRead;
        try (SegmentReadahead ahead = new SegmentReadahead(channel, layout, superblock.deviceUuid(), order)) {
            recovery.merge(ahead, order, firstSequence);
            bytesRead = scanner.bytesRead() + ahead.bytesRead();
        }
        return recovery.result(bytesRead, System.nanoTime() - start);
    }

    /** Pass 1: the segments whose block 0 is a valid header of this device, by first sequence. */
    private static int[] liveSegmentsInOrder(SegmentScanner scanner, long[] firstSequence) throws IOException {
        int count = firstSequence.length;
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

    /**
     * Pass 2: a merge of the segments' batches by sequence. A segment joins the merge when its
     * first sequence is the lowest one not yet handed out, and leaves it when its last batch has
     * been; since one stream's segments do not overlap, about one segment per stream is open at a time.
     */
    private void merge(SegmentReadahead ahead, int[] order, long[] firstSequence) throws IOException {
        PriorityQueue<Cursor> active = new PriorityQueue<>(Comparator.comparingLong(Cursor::nextSequence));
        int joined = 0;
        while (true) {
            Cursor head = active.peek();
            if (joined < order.length && (head == null || firstSequence[order[joined]] < head.nextSequence())) {
                Cursor c = new Cursor(ahead.next());
                joined++;
                if (c.hasNext()) {
                    active.add(c);
                } else {
                    finish(c); // cannot happen: block 0 decoded in pass 1 and nothing has written since
                }
                continue;
            }
            if (head == null) {
                return;
            }
            active.poll();
            SegmentScanner.Event event = head.scan.events().get(head.index++);
            boolean newest = !head.hasNext() && active.isEmpty() && joined == order.length;
            deliver(head, event, newest);
            if (head.hasNext()) {
                active.add(head);
            } else {
                finish(head);
            }
        }
    }

    /** One event of a segment; {@code newest}: it is the last one of the whole device. */
    private void deliver(Cursor cursor, SegmentScanner.Event event, boolean newest) {
        int segment = cursor.scan.segment();
        switch (event) {
            case SegmentScanner.Gap gap -> {
                unreadable++;
                LOG.error("segment {}: a corrupt batch header hides sequences {}..{} (or some of them: other streams'"
                        + " batches interleave); their blocks are unknown", segment, gap.firstSequence(), gap.lastSequence());
                listener.onUnreadable(segment, gap.firstSequence(), gap.lastSequence());
            }
            case SegmentScanner.ScannedBatch batch -> {
                BatchHeader h = batch.header();
                if (h.firstSequence() <= lastDelivered) {
                    LOG.warn("segment {}: batch at sequence {} overlaps sequences up to {} seen before; records are not in"
                            + " sequence order", segment, h.firstSequence(), lastDelivered);
                }
                lastDelivered = Math.max(lastDelivered, h.lastSequence());
                maxSequence = Math.max(maxSequence, h.lastSequence());
                maxGeneration = Math.max(maxGeneration, h.generation());
                if (newest && batch.badData() != 0) {
                    torn = new TornTail(segment, batch.block(), h.firstSequence(), h.lastSequence());
                    cursor.used = batch.block();
                } else {
                    batches++;
                    deliver(cursor.scan, batch);
                }
            }
        }
    }

    private void deliver(SegmentScanner.Scan scan, SegmentScanner.ScannedBatch batch) {
        int segment = scan.segment();
        long dataBlock = layout.deviceBlock(segment, batch.block() + 1);
        List<RecordEntry> entries = batch.header().entries();
        for (int i = 0; i < entries.size(); i++) {
            RecordEntry e = entries.get(i);
            RecoveredRecord r = RecoveredRecord.of(e, scan.stream(), segment, dataBlock);
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

    /** A segment whose batches have all been handed out: sealed if anything in it survived. */
    private void finish(Cursor c) {
        SegmentScanner.Scan scan = c.scan;
        if (c.used > 0) {
            table.recoveredSealed(scan.segment(), scan.stream(), scan.generation(),
                    scan.batches().getFirst().header().firstSequence(), c.used);
            sealed[scan.segment()] = true;
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
