package io.flashvisor.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.cluster.Cluster;
import io.flashvisor.cluster.HostInfo;
import io.flashvisor.cluster.InMemoryCluster;
import io.flashvisor.cluster.ManualClock;
import io.flashvisor.cluster.Member;
import io.flashvisor.node.volume.FlashDevice;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FreeFlashPublisherTest {
    @TempDir
    Path dir;

    @Test
    void replicasHeldHereShrinkTheFreeFlashOthersSee() throws Exception {
        ManualClock clock = new ManualClock();
        InMemoryCluster zk = new InMemoryCluster(clock);
        try (FlashDevice device = FlashDevice.open(dir.resolve("flash"), 64L << 20, false, "s3-fifo")) {
            long capacity = ClusterMembership.flashCapacityBytes(device.cache());
            Cluster me = zk.connect("hv-a");
            HostInfo registered = new HostInfo("hv-a", "127.0.0.1:1", capacity, ClusterMembership.freeFlashBytes(device.cache()), "r1");
            me.register(registered);
            FreeFlashPublisher publisher = new FreeFlashPublisher(me, device.cache(), registered, false);

            publisher.publishIfMoved(); // nothing moved: nothing published
            assertThat(free(zk)).isEqualTo(registered.freeFlashBytes());

            // A peer's replicas arrive: 2 % of the capacity.
            int blocks = (int) (capacity / 4096 / 50);
            device.cache().replicas().append(7, 9, 1, 1, 0, ByteBuffer.allocate(blocks * 4096), 1).get();
            publisher.publishIfMoved();
            assertThat(free(zk)).isEqualTo(registered.freeFlashBytes() - blocks * 4096L);
        }
    }

    private static long free(InMemoryCluster zk) {
        Cluster observer = zk.connect("observer");
        try {
            return observer.hosts().stream().filter(m -> m.hostId().equals("hv-a")).map(Member::info).findFirst().orElseThrow()
                    .freeFlashBytes();
        } finally {
            observer.close();
        }
    }
}
