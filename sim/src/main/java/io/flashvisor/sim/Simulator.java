package io.flashvisor.sim;

import io.flashvisor.sim.policy.CachePolicies;
import io.flashvisor.sim.policy.Replay;
import io.flashvisor.sim.policy.ReplayResult;
import io.flashvisor.sim.trace.BlockTrace;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Replays one trace through every (policy, cache size) pair: each pair is one single-threaded
 * replay (so its accesses per second is a per-core figure); pairs run on {@code threads} threads
 * side by side. Results come back in policy-major order.
 */
public final class Simulator {

    /**
     * @param policies               names as {@link CachePolicies#parse} returns them
     * @param sizes                  cache sizes
     * @param segmentBlocks          node policies' segment size in blocks, 0 for automatic
     * @param streams                node policies' append streams (1 or 2; the node's default is 2)
     * @param destageBytesPerSecond  write-back destage bandwidth in trace time; negative: no write-back accounting
     * @param threads                replays that run at once
     */
    public record Settings(List<String> policies, List<CacheSize> sizes, int segmentBlocks, int streams,
                           long destageBytesPerSecond, int threads) {
    }

    /** One result with the size it was asked for. */
    public record Row(CacheSize size, ReplayResult result) {
    }

    private Simulator() {
    }

    public static List<Row> run(BlockTrace trace, Settings settings) throws InterruptedException {
        long distinct = trace.distinctBlocks();
        List<java.util.concurrent.Callable<Row>> jobs = new ArrayList<>();
        for (String policy : settings.policies()) {
            for (CacheSize size : settings.sizes()) {
                long blocks = size.blocks(distinct);
                jobs.add(() -> new Row(size, Replay.run(trace,
                        CachePolicies.create(policy, blocks, settings.segmentBlocks(), settings.streams()),
                        settings.destageBytesPerSecond())));
            }
        }
        int threads = Math.max(1, Math.min(settings.threads(), jobs.size()));
        List<Row> rows = new ArrayList<>();
        if (threads == 1) {
            for (var job : jobs) {
                rows.add(call(job));
            }
            return rows;
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(threads, Thread.ofPlatform().name("sim-replay-", 0).daemon(true).factory())) {
            List<Future<Row>> futures = pool.invokeAll(jobs);
            for (Future<Row> f : futures) {
                try {
                    rows.add(f.get());
                } catch (ExecutionException e) {
                    throw rethrow(e.getCause());
                }
            }
        }
        return rows;
    }

    private static Row call(java.util.concurrent.Callable<Row> job) {
        try {
            return job.call();
        } catch (Exception e) {
            throw rethrow(e);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
