package io.flashvisor.node.volume;

import io.flashvisor.cache.sizing.MissRatioCurve;
import java.util.ArrayList;
import java.util.List;

/**
 * What a volume's online miss-ratio curve (SHARDS over its reads and writes, LRU) says about the
 * flash it needs: bytes for 80/90/95 % hits (-1: not reachable with the accesses seen so far — the
 * working set keeps growing or too few accesses) and the curve itself, at most {@value #POINTS}
 * points of (bytes of flash, miss ratio).
 */
public record Sizing(long accesses, long bytesFor80, long bytesFor90, long bytesFor95, List<double[]> curve) {
    static final int POINTS = 24;
    private static final int BLOCK = 4096;

    static Sizing of(MissRatioCurve c) {
        long[] sizes = c.sizes();
        double[] miss = c.missRatios();
        List<double[]> points = new ArrayList<>();
        int step = Math.max(1, (sizes.length + POINTS - 1) / POINTS);
        for (int i = 0; i < sizes.length; i += step) {
            points.add(new double[] {(double) sizes[i] * BLOCK, miss[i]});
        }
        if (sizes.length > 0 && (sizes.length - 1) % step != 0) {
            points.add(new double[] {(double) sizes[sizes.length - 1] * BLOCK, miss[sizes.length - 1]});
        }
        return new Sizing(c.accesses(), bytes(c, 0.80), bytes(c, 0.90), bytes(c, 0.95), points);
    }

    private static long bytes(MissRatioCurve c, double hitRatio) {
        long blocks = c.sizeForHitRatio(hitRatio);
        return blocks < 0 ? -1 : blocks * BLOCK;
    }
}
