package io.flashvisor.sim.report;

import io.flashvisor.sim.MissRatioCurves;
import io.flashvisor.sim.Simulator;
import io.flashvisor.sim.trace.BlockTrace;
import java.util.List;

/**
 * Everything one {@code flashvisor sim} run prints, in any of the output forms.
 *
 * @param trace   name of the trace or synthetic spec
 * @param requests requests (I/Os) in the trace
 * @param accesses 4 KiB block accesses
 * @param writes   block accesses that were writes
 * @param distinctBlocks the working set in blocks
 * @param seconds the trace's duration in its own time
 * @param rows    one per policy and size
 * @param mrc     the miss-ratio curve, or null if none was asked for
 */
public record SimReport(String trace, long requests, long accesses, long writes, long distinctBlocks, double seconds,
                        List<Simulator.Row> rows, MissRatioCurves.Measured mrc) {

    public static SimReport of(BlockTrace t, List<Simulator.Row> rows, MissRatioCurves.Measured mrc) {
        double seconds = t.size() == 0 ? 0 : t.timeUs(t.size() - 1) / 1e6;
        return new SimReport(t.name(), t.requests(), t.size(), t.writes(), t.distinctBlocks(), seconds, List.copyOf(rows), mrc);
    }
}
