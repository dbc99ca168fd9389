package io.flashvisor.cluster;

import java.time.Duration;

class InMemoryClusterContractTest extends ClusterContractTest {
    @Override
    Harness harness() {
        ManualClock clock = new ManualClock();
        InMemoryCluster cluster = new InMemoryCluster(clock, Duration.ofSeconds(6));
        return new Harness() {
            @Override
            public Cluster connect(String hostId) {
                return cluster.connect(hostId);
            }

            @Override
            public void expire(Cluster c) {
                cluster.expire(c.hostId());
            }

            @Override
            public void eventually(Runnable check) {
                // Deterministic: everything due has happened once the clock moved a heartbeat and ticked.
                clock.advance(Duration.ofMillis(100));
                cluster.tick();
                check.run();
            }

            @Override
            public void close() {
            }
        };
    }
}
