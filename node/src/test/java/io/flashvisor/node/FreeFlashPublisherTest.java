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
    void theFreeFlashOthersSeeFollowsReplicasArrivingAndBeingReleased() throws Exception {
        ManualClock clock = new ManualClock();
        InMemoryCluster zk = new InMemoryCluster(clock);
        try (FlashDevice device = FlashDevice.open(dir.resolve("flash"), 64L << 20, false, "s3-fifo")) {
            long capacity = ClusterMembership.flashCapacityBytes(device.cache());
            Cluster me = zk.connect("hv-a");
            HostInfo registered = new HostInfo("hv-a", "127.0.0.1:1", capacity, ClusterMembership.freeFlashBytes(device.cache()), "r1");
            me.register(registered);
            FreeFlashPublisher publisher = new FreeFlashPublisher(me, device.cache(), registered, false);
            var replicas = device.cache().replicas();
            long origin = 7;
            long volume = 9;
            int blocks = (int) (capacity / 4096 / 50); // 2 % of the capacity

            publisher.publishIfMoved(); // nothing moved: nothing published
            assertThat(free(zk)).isEqualTo(registered.freeFlashBytes());

            // Less than 1 % of the capacity moved: not worth a cluster update yet.
            replicas.append(origin, volume, 1, 1, 0, ByteBuffer.allocate(4096), 1).get();
            publisher.publishIfMoved();
            assertThat(free(zk)).as("a move below 1 percent of the capacity is not published").isEqualTo(registered.freeFlashBytes());

            // A peer's replicas arrive: 2 % more of the capacity (the single block above is still held too).
            replicas.append(origin, volume, 1, 1, 1, ByteBuffer.allocate(blocks * 4096), 2).get();
            publisher.publishIfMoved();
            long afterFirst = registered.freeFlashBytes() - (blocks + 1) * 4096L;
            assertThat(free(zk)).as("first fill published").isEqualTo(afterFirst);

            // More arrive: the figure is republished, not frozen at the first update.
            replicas.append(origin, volume, 1, 1, 1 + blocks, ByteBuffer.allocate(blocks * 4096), 3).get();
            publisher.publishIfMoved();
            assertThat(free(zk)).as("second fill republished").isEqualTo(afterFirst - blocks * 4096L);

            // The origin destaged everything and released its replicas: the flash is free again, and others see it.
            replicas.release(origin, volume, 3).get();
            assertThat(replicas.liveBlocks()).isZero();
            publisher.publishIfMoved();
            assertThat(free(zk)).as("free flash republished after the release").isEqualTo(registered.freeFlashBytes());
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
