package io.flashvisor.backing.align;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A race scenario for read-modify-write: many threads write disjoint, small, unaligned runs that
 * share blocks. Whatever the interleaving, every byte must end up holding its owner's last value;
 * a lost update shows up as a byte with someone else's (or the initial) value.
 */
public final class DisjointWriters {
    public interface Target {
        void write(long offset, ByteBuffer src) throws IOException;
    }

    private DisjointWriters() {
    }

    /** Runs the scenario on {@code [base, base + length)} and returns the expected contents. */
    public static byte[] run(Target target, long base, int length, int threads, long seed) throws Exception {
        Random rnd = new Random(seed);
        // Cut the range into runs of 1..300 bytes, each owned by a random thread.
        List<List<int[]>> runsByThread = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            runsByThread.add(new ArrayList<>());
        }
        byte[] expected = new byte[length];
        for (int at = 0; at < length; ) {
            int n = Math.min(length - at, 1 + rnd.nextInt(300));
            int owner = rnd.nextInt(threads);
            runsByThread.get(owner).add(new int[] {at, n});
            at += n;
        }
        int rounds = 3;
        for (int t = 0; t < threads; t++) {
            for (int[] run : runsByThread.get(t)) {
                java.util.Arrays.fill(expected, run[0], run[0] + run[1], value(t, rounds - 1));
            }
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                List<int[]> runs = new ArrayList<>(runsByThread.get(t));
                long threadSeed = rnd.nextLong();
                done.add(pool.submit(() -> {
                    Random r = new Random(threadSeed);
                    for (int round = 0; round < rounds; round++) {
                        Collections.shuffle(runs, r);
                        for (int[] run : runs) {
                            byte[] data = new byte[run[1]];
                            java.util.Arrays.fill(data, value(id, round));
                            target.write(base + run[0], ByteBuffer.wrap(data));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }
        return expected;
    }

    private static byte value(int thread, int round) {
        return (byte) (1 + thread * 7 + round * 61);
    }
}
