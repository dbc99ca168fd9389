package io.flashvisor.cluster;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * A monotonic nanosecond clock that moves only when told to: the time source of {@link
 * InMemoryCluster} and of the seeded simulation. Not thread-safe; a simulation runs in one thread.
 */
public final class ManualClock implements LongSupplier {
    private long nanos;

    public ManualClock() {
        this(0);
    }

    public ManualClock(long startNanos) {
        this.nanos = startNanos;
    }

    @Override
    public long getAsLong() {
        return nanos;
    }

    public long nanos() {
        return nanos;
    }

    public void advance(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("time does not go back: " + d);
        }
        nanos += d.toNanos();
    }
}
