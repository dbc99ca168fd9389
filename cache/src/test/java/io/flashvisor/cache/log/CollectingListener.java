package io.flashvisor.cache.log;

import java.util.ArrayList;
import java.util.List;

/** Collects what recovery delivers; optionally throws after {@code failAfter} records (an interrupted recovery). */
final class CollectingListener implements RecoveryListener {
    record Unreadable(int segment, long firstSequence, long lastSequence) {
    }

    final List<RecoveredRecord> records = new ArrayList<>();
    final List<RecoveredRecord> lost = new ArrayList<>();
    final List<Unreadable> unreadable = new ArrayList<>();
    /** Every callback in order, to check that sequences only grow. */
    final List<Object> all = new ArrayList<>();
    private final long failAfter;

    CollectingListener() {
        this(Long.MAX_VALUE);
    }

    CollectingListener(long failAfter) {
        this.failAfter = failAfter;
    }

    @Override
    public void onRecord(RecoveredRecord record) {
        if (records.size() >= failAfter) {
            throw new IllegalStateException("listener stops recovery on purpose");
        }
        records.add(record);
        all.add(record);
    }

    @Override
    public void onLost(RecoveredRecord record) {
        lost.add(record);
        all.add(record);
    }

    @Override
    public void onUnreadable(int segment, long firstSequence, long lastSequence) {
        Unreadable u = new Unreadable(segment, firstSequence, lastSequence);
        unreadable.add(u);
        all.add(u);
    }

    /** Sequence order across records, lost records and unreadable runs. */
    boolean inSequenceOrder() {
        long last = 0;
        for (Object o : all) {
            long first = o instanceof RecoveredRecord r ? r.sequence() : ((Unreadable) o).firstSequence();
            long end = o instanceof RecoveredRecord r ? r.sequence() : ((Unreadable) o).lastSequence();
            if (first <= last) {
                return false;
            }
            last = end;
        }
        return true;
    }
}
