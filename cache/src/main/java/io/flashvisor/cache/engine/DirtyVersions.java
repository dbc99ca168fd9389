package io.flashvisor.cache.engine;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one volume still owes its backing store: its dirty versions, grouped by flush epoch
 * (docs/cache.md, Write ordering and destage). A version is (block, device location, sequence,
 * flush epoch); each epoch holds at most one version per block, its newest write in that epoch.
 * A block rewritten in a later epoch while an older version is still dirty has a version in each:
 * the older one stays until its epoch is destaged, because the backing store must pass through
 * every epoch's state in order.
 *
 * <p>Epochs are ordered as unsigned 64-bit numbers; {@link #NO_EPOCH} (2^64 − 1) is reserved. The
 * destager takes batches from the oldest epoch only ({@link #take}); the epoch is complete, and
 * disappears, once its last version is destaged or dropped.
 *
 * <p>Invariant kept with the index (checked by {@code FlashCache.checkInvariants} in tests): a block
 * has versions here only while its index entry is dirty or lost, and a dirty entry's location is
 * the location of the block's newest version.
 *
 * <p>Not thread-safe: guarded by the engine lock.
 */
final class DirtyVersions {
    /** Returned by {@link #oldestEpoch} when nothing is dirty; never a write's flush epoch. */
    static final long NO_EPOCH = -1L;

    /** A version found by a search. */
    record Version(long block, long epoch, int location, long sequence) {
    }

    /** Versions handed to the destager: one epoch, sorted by block. */
    record Taken(long epoch, long[] blocks, int[] locations, long[] sequences) {
    }

    /** A destaged version that was still current: CLEAN it up to {@code sequence}. */
    record Cleaned(long block, int location, long sequence) {
    }

    private final TreeMap<Long, EpochVersions> epochs = new TreeMap<>(Long::compareUnsigned);
    private long count;

    long count() {
        return count;
    }

    boolean isEmpty() {
        return count == 0;
    }

    long oldestEpoch() {
        return epochs.isEmpty() ? NO_EPOCH : epochs.firstKey();
    }

    int epochCount() {
        return epochs.size();
    }

    long bytesOfRam() {
        long bytes = 0;
        for (EpochVersions e : epochs.values()) {
            bytes += e.bytesOfRam() + 64;
        }
        return bytes;
    }

    /** Adds the version of {@code block} written in {@code epoch}, replacing that epoch's older one. */
    void add(long block, long epoch, int location, long sequence) {
        if (epoch == NO_EPOCH) {
            throw new IllegalArgumentException("flush epoch 2^64-1 is reserved");
        }
        EpochVersions e = epochs.computeIfAbsent(epoch, k -> new EpochVersions());
        int before = e.size();
        e.put(block, location, sequence);
        count += e.size() - before;
    }

    /** Drops every version of {@code block}; returns how many there were. */
    int removeAll(long block) {
        int removed = 0;
        for (Iterator<EpochVersions> it = epochs.values().iterator(); it.hasNext(); ) {
            EpochVersions e = it.next();
            if (e.remove(block)) {
                removed++;
                if (e.size() == 0) {
                    it.remove();
                }
            }
        }
        count -= removed;
        return removed;
    }

    /** Drops the versions of {@code block} in {@code epoch} and later epochs (recovery: a newer record supersedes them). */
    void removeFrom(long block, long epoch) {
        for (Iterator<EpochVersions> it = epochs.tailMap(epoch, true).values().iterator(); it.hasNext(); ) {
            EpochVersions e = it.next();
            if (e.remove(block)) {
                count--;
                if (e.size() == 0) {
                    it.remove();
                }
            }
        }
    }

    /**
     * Drops the versions of {@code block} with a sequence at most {@code upTo} (a CLEAN record);
     * returns whether one of them was at {@code location} (the index's entry is then clean).
     */
    boolean removeUpTo(long block, long upTo, int location) {
        boolean atLocation = false;
        for (Iterator<EpochVersions> it = epochs.values().iterator(); it.hasNext(); ) {
            EpochVersions e = it.next();
            int slot = e.find(block);
            if (slot != EpochVersions.NOT_FOUND && e.sequenceAt(slot) <= upTo) {
                atLocation |= e.locationAt(slot) == location;
                e.removeAt(slot);
                count--;
                if (e.size() == 0) {
                    it.remove();
                }
            }
        }
        return atLocation;
    }

    /** Drops every version of the blocks {@code [first, first + blocks)}. */
    void removeRange(long first, long blocks) {
        long end = first + blocks;
        for (Iterator<EpochVersions> it = epochs.values().iterator(); it.hasNext(); ) {
            EpochVersions e = it.next();
            LongList in = e.blocksIn(first, end);
            for (int i = 0; i < in.size(); i++) {
                e.remove(in.get(i));
            }
            count -= in.size();
            if (e.size() == 0) {
                it.remove();
            }
        }
    }

    /** The blocks in {@code [first, end)} with a version in any epoch (a block may appear more than once). */
    LongList blocksIn(long first, long end) {
        LongList out = new LongList();
        for (EpochVersions e : epochs.values()) {
            LongList in = e.blocksIn(first, end);
            for (int i = 0; i < in.size(); i++) {
                out.add(in.get(i));
            }
        }
        return out;
    }

    /** The version of {@code block} whose record is at {@code location}, searching the newest epochs first; or null. */
    Version versionAt(long block, int location) {
        for (Map.Entry<Long, EpochVersions> en : epochs.descendingMap().entrySet()) {
            EpochVersions e = en.getValue();
            int slot = e.find(block);
            if (slot != EpochVersions.NOT_FOUND && e.locationAt(slot) == location) {
                return new Version(block, en.getKey(), location, e.sequenceAt(slot));
            }
        }
        return null;
    }

    /** The versions of {@code block} in epochs after {@code epoch}, oldest first. */
    List<Version> newerVersions(long block, long epoch) {
        List<Version> out = new ArrayList<>();
        for (Map.Entry<Long, EpochVersions> en : epochs.tailMap(epoch, false).entrySet()) {
            EpochVersions e = en.getValue();
            int slot = e.find(block);
            if (slot != EpochVersions.NOT_FOUND) {
                out.add(new Version(block, en.getKey(), e.locationAt(slot), e.sequenceAt(slot)));
            }
        }
        return out;
    }

    /** The newest epoch with a version of {@code block}, or {@link #NO_EPOCH}. */
    long newestEpoch(long block) {
        for (Map.Entry<Long, EpochVersions> en : epochs.descendingMap().entrySet()) {
            if (en.getValue().find(block) != EpochVersions.NOT_FOUND) {
                return en.getKey();
            }
        }
        return NO_EPOCH;
    }

    /** The highest sequence of any version of {@code block}, or -1. */
    long highestSequence(long block) {
        long highest = -1;
        for (EpochVersions e : epochs.values()) {
            int slot = e.find(block);
            if (slot != EpochVersions.NOT_FOUND) {
                highest = Math.max(highest, e.sequenceAt(slot));
            }
        }
        return highest;
    }

    /** The lowest sequence of any version of {@code block}, or {@link Long#MAX_VALUE}. */
    long lowestSequence(long block) {
        long lowest = Long.MAX_VALUE;
        for (EpochVersions e : epochs.values()) {
            int slot = e.find(block);
            if (slot != EpochVersions.NOT_FOUND) {
                lowest = Math.min(lowest, e.sequenceAt(slot));
            }
        }
        return lowest;
    }

    /** The cleaner moved the version of {@code block} in {@code epoch} from {@code from}; updates it if it is still there. */
    boolean moved(long block, long epoch, int from, int to, long sequence) {
        EpochVersions e = epochs.get(epoch);
        if (e == null) {
            return false;
        }
        int slot = e.find(block);
        if (slot == EpochVersions.NOT_FOUND || e.locationAt(slot) != from) {
            return false;
        }
        e.movedAt(slot, to, sequence);
        return true;
    }

    /**
     * Hands out up to {@code maxBlocks} versions of the oldest epoch that are not handed out
     * already, in block order; null if there are none now (nothing dirty, or the oldest epoch's
     * versions are all being destaged: a later epoch never starts before an older one is done).
     */
    Taken take(int maxBlocks) {
        if (epochs.isEmpty()) {
            return null;
        }
        Map.Entry<Long, EpochVersions> first = epochs.firstEntry();
        EpochVersions e = first.getValue();
        LongList blocks = new LongList(Math.min(maxBlocks, 1024));
        int[] locations = new int[Math.min(maxBlocks, e.size())];
        long[] sequences = new long[locations.length];
        // A pass that ran dry may have skipped versions written since it began: one more pass finds them.
        for (int attempt = 0; attempt < 2 && blocks.isEmpty(); attempt++) {
            if (e.passExhausted() && e.startPass() == 0) {
                return null;
            }
            while (blocks.size() < locations.length && !e.passExhausted()) {
                long b = e.pass[e.passPosition++];
                int slot = e.find(b);
                if (slot == EpochVersions.NOT_FOUND || e.handedOutAt(slot)) {
                    continue; // destaged, dropped or handed out since the pass began
                }
                e.setHandedOutAt(slot, true);
                locations[blocks.size()] = e.locationAt(slot);
                sequences[blocks.size()] = e.sequenceAt(slot);
                blocks.add(b);
            }
        }
        if (blocks.isEmpty()) {
            return null;
        }
        int n = blocks.size();
        return new Taken(first.getKey(), blocks.toArray(), java.util.Arrays.copyOf(locations, n),
                java.util.Arrays.copyOf(sequences, n));
    }

    /**
     * The destager wrote and flushed these versions of {@code epoch}: drops those still handed
     * out (a version rewritten in the same epoch since is no longer, and stays dirty) and returns
     * them with their current sequence and location (the cleaner may have moved them).
     */
    List<Cleaned> destaged(long epoch, long[] blocks) {
        List<Cleaned> cleaned = new ArrayList<>();
        EpochVersions e = epochs.get(epoch);
        if (e == null) {
            return cleaned;
        }
        for (long b : blocks) {
            int slot = e.find(b);
            if (slot != EpochVersions.NOT_FOUND && e.handedOutAt(slot)) {
                cleaned.add(new Cleaned(b, e.locationAt(slot), e.sequenceAt(slot)));
                e.removeAt(slot);
                count--;
            }
        }
        if (e.size() == 0) {
            epochs.remove(epoch);
        }
        return cleaned;
    }

    /** The destage of these versions failed: they are to be destaged again. */
    void release(long epoch, long[] blocks) {
        EpochVersions e = epochs.get(epoch);
        if (e == null) {
            return;
        }
        for (long b : blocks) {
            int slot = e.find(b);
            if (slot != EpochVersions.NOT_FOUND && e.handedOutAt(slot)) {
                e.setHandedOutAt(slot, false);
                e.pass = null; // the next pass picks them up again
            }
        }
    }

    /** Every version, oldest epoch first (tests and invariant checks). */
    void forEach(VersionVisitor visitor) {
        for (Map.Entry<Long, EpochVersions> en : epochs.entrySet()) {
            long epoch = en.getKey();
            en.getValue().forEach((block, location, sequence, handedOut) -> visitor.visit(block, epoch, location, sequence));
        }
    }

    @FunctionalInterface
    interface VersionVisitor {
        void visit(long block, long epoch, int location, long sequence);
    }
}
