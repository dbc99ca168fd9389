package io.flashvisor.sim.synthetic;

import io.flashvisor.sim.trace.TraceBuilder;
import java.util.Set;

/**
 * {@code shift:hot=20k,p=0.9,period=200k}: a fraction {@code p} of the requests (default 0.9)
 * go uniformly to a hot spot of {@code hot} blocks (default 2 % of the volume); the rest go
 * uniformly anywhere; every {@code period} requests (default requests / 10) the hot spot jumps to
 * a random place. Tests how fast a policy forgets a working set that went cold (a VM that
 * switched jobs, a database that moved on to other tables).
 */
final class ShiftingWorkload implements Workload {
    private final WorkloadParams p;

    ShiftingWorkload(WorkloadParams p) {
        this.p = p;
        if (hot() > p.blocks()) {
            throw new IllegalArgumentException("shift: hot=" + hot() + " must not exceed blocks=" + p.blocks());
        }
    }

    static Set<String> params() {
        return Set.of("hot", "p", "period");
    }

    private long hot() {
        return p.positive("hot", p.count("hot", Math.max(1, p.blocks() / 50)));
    }

    @Override
    public void generate(TraceBuilder out) {
        Emitter e = new Emitter(p, out);
        long hot = hot();
        double pHot = p.fraction("p", 0.9, 0, 1);
        long requests = p.requests();
        long period = p.positive("period", p.count("period", Math.max(1, requests / 10)));
        long spot = 0;
        for (long i = 0; i < requests && !e.full(); i++) {
            if (i % period == 0) {
                spot = e.random.nextLong(e.blocks - hot + 1);
            }
            e.request(e.random.nextDouble() < pHot ? spot + e.random.nextLong(hot) : e.random.nextLong(e.blocks));
        }
    }

    @Override
    public String spec() {
        return p.spec();
    }
}
