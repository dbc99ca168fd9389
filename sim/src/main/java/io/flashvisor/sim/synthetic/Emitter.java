package io.flashvisor.sim.synthetic;

import io.flashvisor.sim.trace.BlockTrace;
import io.flashvisor.sim.trace.TraceBuilder;
import java.util.SplittableRandom;

/** Shared plumbing of the generators: request size, read/write mix, the clock, and the seeded random source. */
final class Emitter {
    final SplittableRandom random;
    private final TraceBuilder out;
    private final double write;
    private final int requestBlocks;
    private final long gap;
    final long blocks;
    private long time;

    Emitter(WorkloadParams p, TraceBuilder out) {
        this.random = new SplittableRandom(p.seed());
        this.out = out;
        this.write = p.write();
        this.requestBlocks = p.requestBlocks();
        this.gap = p.gapMicros();
        this.blocks = p.blocks();
    }

    /** One request starting at {@code block} (clipped to the volume). */
    void request(long block) {
        long first = Math.min(block, blocks - requestBlocks < 0 ? 0 : blocks - requestBlocks);
        boolean isWrite = random.nextDouble() < write;
        out.request(0, first * BlockTrace.BLOCK, (long) Math.min(requestBlocks, blocks) * BlockTrace.BLOCK, isWrite, time);
        time += gap;
    }

    boolean full() {
        return out.full();
    }
}
