package io.flashvisor.sim;

import io.flashvisor.cache.sizing.MissRatioCurve;
import io.flashvisor.cache.sizing.Shards;
import io.flashvisor.sim.trace.BlockTrace;

/** Full-trace LRU miss-ratio curves with the node's own {@link Shards} sampler. */
public final class MissRatioCurves {

    /** A curve and what it cost. */
    public record Measured(MissRatioCurve curve, int maxSamples, double samplingRate, long bytesOfRam, long nanos) {
    }

    private MissRatioCurves() {
    }

    /** SHARDS with {@code maxSamples} keys; with at least as many as the trace's distinct blocks it is exact. */
    public static Measured shards(BlockTrace trace, int maxSamples) {
        Shards shards = new Shards(maxSamples);
        int n = trace.size();
        long start = io.flashvisor.sim.policy.Replay.cpuNanos();
        for (int i = 0; i < n; i++) {
            shards.record(trace.key(i));
        }
        long nanos = io.flashvisor.sim.policy.Replay.cpuNanos() - start;
        return new Measured(shards.curve(), maxSamples, shards.samplingRate(), shards.bytesOfRam(), nanos);
    }

    /** The exact curve: SHARDS at sampling rate 1 (one sample per distinct block). */
    public static Measured exact(BlockTrace trace) {
        long distinct = trace.distinctBlocks();
        if (distinct >= 1 << 24) {
            throw new IllegalArgumentException("an exact curve of " + distinct + " distinct blocks is too large; use sampling");
        }
        return shards(trace, (int) Math.max(16, distinct));
    }
}
