package io.flashvisor.replication.owner;

import java.util.Map;
import java.util.TreeMap;

/**
 * The owner's side of releasing replicas: which origin sequence every peer may forget up to.
 *
 * <p>Each replicated write gets the next origin sequence of its volume and belongs to a flush
 * epoch (the effective one, the same the local insert uses). The destager writes epochs to the
 * backing store in order, so once the oldest epoch with dirty data is past epoch {@code e}, every
 * write of epochs ≤ {@code e} is on the backing store — except writes still on their way to local
 * flash, which are not dirty yet and are counted here as in flight. The peers may then forget
 * every sequence below the lowest sequence of any epoch that is not finished: sequences are not
 * ordered by epoch (a write can join a later epoch), so the bound is the minimum over what remains,
 * which is conservative — a write is released only when nothing older-numbered is still needed.
 *
 * <p>Pure and thread-safe (synchronised); no I/O, no clock.
 */
public final class ReleaseTracker {
    private static final class Epoch {
        long minSequence = Long.MAX_VALUE;
        int inFlight;
    }

    /** Unsigned flush epoch → its writes not yet known to be on the backing store. */
    private final TreeMap<Long, Epoch> epochs = new TreeMap<>(Long::compareUnsigned);
    private long lastSequence;
    private long released;

    /** @param lastSequence the highest sequence already used (after a restart: above anything peers may hold) */
    public ReleaseTracker(long lastSequence) {
        this.lastSequence = lastSequence;
        this.released = lastSequence;
    }

    /**
     * A tracker for an owner at ownership epoch {@code epoch}: its sequences start at
     * {@code epoch << 40}, above everything an owner of an earlier epoch could have used.
     */
    public static ReleaseTracker forEpoch(long epoch) {
        return new ReleaseTracker(epoch << 40);
    }

    /**
     * The highest origin sequence an owner at ownership epoch {@code epoch} can use. Releasing a
     * finished owner's replicas up to it — never "everything" — keeps a later epoch's replicas of
     * the same origin: a host that owns again numbers its writes above it.
     */
    public static long lastSequenceOf(long epoch) {
        return (epoch + 1 << 40) - 1;
    }

    /** A new write of flush epoch {@code epoch}: its origin sequence. Call under the write's range lock. */
    public synchronized long assign(long epoch) {
        Epoch e = epochs.computeIfAbsent(epoch, k -> new Epoch());
        long sequence = ++lastSequence;
        e.minSequence = Math.min(e.minSequence, sequence);
        e.inFlight++;
        return sequence;
    }

    /** The write's local flash insert finished (durable and dirty, or failed): it is no longer in flight. */
    public synchronized void landed(long epoch) {
        Epoch e = epochs.get(epoch);
        if (e != null && e.inFlight > 0) {
            e.inFlight--;
        }
    }

    /**
     * The bound peers may release up to, given the oldest flush epoch that still has dirty data
     * ({@code noEpoch} when nothing is dirty); 0 if nothing new can be released.
     *
     * @param noEpoch the value that means "no dirty epoch"
     */
    public synchronized long releasable(long oldestDirtyEpoch, long noEpoch) {
        var it = epochs.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Long, Epoch> e = it.next();
            boolean destaged = oldestDirtyEpoch == noEpoch || Long.compareUnsigned(e.getKey(), oldestDirtyEpoch) < 0;
            if (destaged && e.getValue().inFlight == 0) {
                it.remove();
            }
        }
        if (oldestDirtyEpoch != noEpoch && (epochs.isEmpty() || Long.compareUnsigned(oldestDirtyEpoch, epochs.firstKey()) < 0)) {
            // Dirty data in an epoch this tracker never saw: recovered from an earlier incarnation of the owner,
            // whose replicas (numbered below ours) are still its second copy. Release nothing until it is destaged.
            return 0;
        }
        long bound = lastSequence;
        for (Epoch e : epochs.values()) {
            bound = Math.min(bound, e.minSequence - 1);
        }
        if (bound <= released) {
            return 0;
        }
        released = bound;
        return bound;
    }

    public synchronized long lastSequence() {
        return lastSequence;
    }
}
