package io.flashvisor.cluster;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;

/** Test helpers for the ZooKeeper binding. */
final class ZooKeeperTesting {
    /** Short timeouts keep the module's tests quick; tick 200 ms keeps tick ≤ T/3. */
    static final Duration SESSION_TIMEOUT = Duration.ofMillis(1500);

    private ZooKeeperTesting() {
    }

    static ZooKeeperClusterConfig config(EmbeddedZooKeeper zk, String cluster, String hostId) {
        return ZooKeeperClusterConfig.of(zk.connectString(), cluster, hostId)
                .withSessionTimeout(SESSION_TIMEOUT).withConnectionTimeout(Duration.ofSeconds(5));
    }

    /**
     * Ends the client's session on the server at once, as an expiry would: a second handle joins
     * the same session (id and password) and closes it. The client's connection drops, it learns
     * that its session expired, and Curator starts a new one.
     */
    static void killSession(EmbeddedZooKeeper zk, ZooKeeperCluster c) {
        try {
            ZooKeeper original = c.curator().getZookeeperClient().getZooKeeper();
            CountDownLatch connected = new CountDownLatch(1);
            Watcher w = e -> {
                if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                    connected.countDown();
                }
            };
            ZooKeeper twin = new ZooKeeper(zk.connectString(), (int) SESSION_TIMEOUT.toMillis(), w,
                    original.getSessionId(), original.getSessionPasswd());
            if (!connected.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("could not join the session to kill it");
            }
            twin.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
