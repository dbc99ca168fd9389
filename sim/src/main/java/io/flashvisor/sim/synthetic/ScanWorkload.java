package io.flashvisor.sim.synthetic;

import io.flashvisor.sim.trace.TraceBuilder;
import java.util.Set;

/**
 * {@code scan:hot=50k,scan=0.5}: a hot set of {@code hot} blocks (default 5 % of the volume) read
 * and written uniformly, while a sequential scan (a backup, a virus scan) sweeps the rest of the
 * volume; a fraction {@code scan} of the requests (default 0.5) belong to the scan. The workload
 * that separates scan-resistant policies from LRU and FIFO.
 */
final class ScanWorkload implements Workload {
    private final WorkloadParams p;

    ScanWorkload(WorkloadParams p) {
        this.p = p;
        if (hot() >= p.blocks()) {
            throw new IllegalArgumentException("scan: hot=" + hot() + " must be smaller than blocks=" + p.blocks());
        }
    }

    static Set<String> params() {
        return Set.of("hot", "scan");
    }

    private long hot() {
        return p.positive("hot", p.count("hot", Math.max(1, p.blocks() / 20)));
    }

    @Override
    public void generate(TraceBuilder out) {
        Emitter e = new Emitter(p, out);
        long hot = hot();
        double scan = p.fraction("scan", 0.5, 0, 1);
        int step = p.requestBlocks();
        long cold = e.blocks - hot;
        long cursor = 0;
        long requests = p.requests();
        for (long i = 0; i < requests && !e.full(); i++) {
            if (e.random.nextDouble() < scan) {
                e.request(hot + cursor);
                cursor = (cursor + step) % cold;
            } else {
                e.request(e.random.nextLong(hot));
            }
        }
    }

    @Override
    public String spec() {
        return p.spec();
    }
}
