package io.flashvisor.cluster;

import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

class ZooKeeperClusterContractTest extends ClusterContractTest {
    private static EmbeddedZooKeeper zk;
    private static int clusters;

    @TempDir
    static Path dir;

    @BeforeAll
    static void startServer() {
        zk = EmbeddedZooKeeper.start(dir.resolve("zk"), 0, Duration.ofMillis(200));
    }

    @AfterAll
    static void stopServer() {
        zk.close();
    }

    @Override
    Harness harness() {
        String name = "contract" + (++clusters); // each test in its own cluster namespace
        return new Harness() {
            @Override
            public Cluster connect(String hostId) {
                return ZooKeeperCluster.connect(ZooKeeperTesting.config(zk, name, hostId));
            }

            @Override
            public void expire(Cluster c) {
                ZooKeeperTesting.killSession(zk, (ZooKeeperCluster) c);
            }

            @Override
            public void eventually(Runnable check) {
                await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20)).untilAsserted(check::run);
            }

            @Override
            public void close() {
            }
        };
    }
}
