package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The window of a {@link LatencyRecorder}: what is in it and when it leaves, on a clock the test sets. */
class LatencyRecorderTest {
    static final long SECOND = 1_000_000_000L;
    /** Some point in nanoTime's range, at the start of a slice. */
    static final long T0 = 1_000 * LatencyRecorder.SLICE.toNanos();

    @Test
    void quantilesCountAndTotalsOfTheWindow() {
        LatencyRecorder r = new LatencyRecorder();
        for (int i = 1; i <= 100; i++) {
            r.record(i * 1_000L); // 1..100 µs
        }
        LatencySummary s = r.summary(T0);
        assertThat(s.count()).isEqualTo(100);
        assertThat(s.p50Micros()).isBetween(50L, 51L); // two significant digits
        assertThat(s.p99Micros()).isBetween(99L, 100L);
        assertThat(s.maxMicros()).isBetween(100L, 101L);
        assertThat(s.totalCount()).isEqualTo(100);
        assertThat(s.totalMicros()).isBetween(5050L * 99 / 100, 5050L * 101 / 100);
    }

    @Test
    void valuesLeaveTheWindowAfterAMinuteButStayInTheTotals() {
        LatencyRecorder r = new LatencyRecorder();
        r.record(7_000_000); // 7 ms
        r.harvest(T0 + SECOND);
        r.record(2_000); // 2 µs, harvested 30 s later
        assertThat(r.summary(T0 + 31 * SECOND).count()).isEqualTo(2);
        assertThat(r.summary(T0 + 59 * SECOND).maxMicros()).as("both slices still in the window").isGreaterThanOrEqualTo(7_000);

        LatencySummary later = r.summary(T0 + 61 * SECOND);
        assertThat(later.count()).as("the first slice has left the window").isEqualTo(1);
        assertThat(later.maxMicros()).isEqualTo(2);
        LatencySummary gone = r.summary(T0 + 95 * SECOND);
        assertThat(gone.count()).isZero();
        assertThat(gone.p50Micros()).isZero();
        assertThat(gone.totalCount()).isEqualTo(2);
        assertThat(gone.totalMicros()).as("to histogram precision, 1 %%").isBetween(7_002L * 99 / 100, 7_002L * 101 / 100);
    }

    @Test
    void aReusedRingSlotForgetsItsOldSlice() {
        LatencyRecorder r = new LatencyRecorder();
        r.record(1_000_000);
        r.harvest(T0);
        r.record(3_000_000);
        r.harvest(T0 + LatencyRecorder.WINDOW.toNanos()); // the same ring slot, one window later
        LatencySummary s = r.summary(T0 + LatencyRecorder.WINDOW.toNanos());
        assertThat(s.count()).isEqualTo(1);
        assertThat(s.p50Micros()).isBetween(3_000L, 3_030L);
    }
}
