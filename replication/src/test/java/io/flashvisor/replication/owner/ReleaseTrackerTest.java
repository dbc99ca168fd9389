package io.flashvisor.replication.owner;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ReleaseTrackerTest {
    static final long NONE = -1; // "no dirty epoch", as VolumeCache.NO_EPOCH

    @Test
    void releasesOnlyWhatIsDestagedAndNotInFlight() {
        ReleaseTracker t = new ReleaseTracker(0);
        long a = t.assign(1); // seq 1, epoch 1
        long b = t.assign(1); // seq 2
        long c = t.assign(2); // seq 3, epoch 2
        assertThat(new long[] {a, b, c}).containsExactly(1, 2, 3);
        t.landed(1);
        t.landed(1);
        t.landed(2);
        assertThat(t.releasable(1, NONE)).as("epoch 1 still dirty").isZero();
        assertThat(t.releasable(2, NONE)).as("epoch 1 destaged: up to its last sequence").isEqualTo(2);
        assertThat(t.releasable(2, NONE)).as("nothing new").isZero();
        assertThat(t.releasable(NONE, NONE)).as("all clean").isEqualTo(3);
    }

    @Test
    void aWriteInFlightOrJoinedToALaterEpochIsKept() {
        ReleaseTracker t = new ReleaseTracker(10);
        t.assign(5);             // seq 11 in epoch 5, still in flight
        long joined = t.assign(7); // seq 12 joined epoch 7
        t.assign(6);             // seq 13 in epoch 6
        t.landed(6);
        t.landed(7);
        assertThat(t.releasable(5, NONE)).as("seq 11 is in flight in epoch 5: nothing new may go").isZero();
        t.landed(5);
        assertThat(t.releasable(7, NONE)).as("epochs 5 and 6 destaged; epoch 7 holds seq 12").isEqualTo(joined - 1);
        assertThat(t.releasable(NONE, NONE)).isEqualTo(13);
    }

    @Test
    void recoveredDirtyDataOfAnEarlierIncarnationHoldsEveryRelease() {
        ReleaseTracker t = new ReleaseTracker(5L << 40); // a new incarnation at epoch 5
        t.assign(20); // this incarnation writes in flush epoch 20
        t.landed(20);
        assertThat(t.releasable(12, NONE)).as("epoch 12 is recovered dirty data, not ours: keep its replicas").isZero();
        assertThat(t.releasable(20, NONE)).as("recovered data destaged, ours still dirty").isZero();
        assertThat(t.releasable(NONE, NONE)).isEqualTo((5L << 40) + 1);
    }
}
