package io.flashvisor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What only the real thing can show: concurrent races, a dropped server, a killed session, a duplicate host id. */
class ZooKeeperClusterTest {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;
    private EmbeddedZooKeeper zk;
    private final List<Cluster> opened = new ArrayList<>();

    @BeforeEach
    void start() {
        zk = EmbeddedZooKeeper.start(dir.resolve("zk"), 0, Duration.ofMillis(200));
    }

    @AfterEach
    void stop() {
        opened.forEach(Cluster::close);
        zk.close();
    }

    private ZooKeeperCluster host(String id, Duration sessionTimeout) {
        ZooKeeperCluster c = ZooKeeperCluster.connect(ZooKeeperTesting.config(zk, "t", id).withSessionTimeout(sessionTimeout));
        opened.add(c);
        c.register(new HostInfo(id, id + ":7000", 1000, 500, "rack-" + id));
        return c;
    }

    private static ClusterListener recordingSessions(List<SessionEvent> events, Cluster c, List<Boolean> mayActSeen) {
        return new ClusterListener() {
            @Override
            public void sessionChanged(SessionEvent event) {
                events.add(event);
                mayActSeen.add(c.mayAct());
            }
        };
    }

    @Test
    void concurrentClaimsOfOneVolumeHaveExactlyOneWinner() throws Exception {
        int n = 5;
        List<ZooKeeperCluster> hosts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            hosts.add(host("h" + i, ZooKeeperTesting.SESSION_TIMEOUT));
        }
        hosts.get(0).createVolume(VolumeRecord.create("vm1", "write-back", 1));
        CyclicBarrier start = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<CasOutcome>> results = new ArrayList<>();
            for (ZooKeeperCluster h : hosts) {
                results.add(pool.submit(() -> {
                    start.await();
                    return h.claimOwnership("vm1", VolumeState.ACTIVE, List.of());
                }));
            }
            List<String> winners = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (results.get(i).get().won()) {
                    winners.add("h" + i);
                }
            }
            assertThat(winners).hasSize(1);
            VolumeRecord stored = hosts.get(0).volume("vm1").orElseThrow();
            assertThat(stored.owner()).isEqualTo(winners.get(0));
            assertThat(stored.epoch()).isEqualTo(1);
            assertThat(stored.version()).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void twoClientsRacingACompareAndSetOnTheSameVersionHaveExactlyOneWinner() throws Exception {
        ZooKeeperCluster a = host("a", ZooKeeperTesting.SESSION_TIMEOUT);
        ZooKeeperCluster b = host("b", ZooKeeperTesting.SESSION_TIMEOUT);
        VolumeRecord v0 = a.createVolume(VolumeRecord.create("vm1", "write-back", 1));
        for (int round = 0; round < 20; round++) {
            VolumeRecord expected = a.volume("vm1").orElseThrow();
            CyclicBarrier go = new CyclicBarrier(2);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                // distinct contents: identical updates from two writers both count as won (docs/cluster.md)
                String policyA = "write-back-a" + round;
                String policyB = "write-back-b" + round;
                Future<CasOutcome> fa = pool.submit(() -> {
                    go.await();
                    return a.compareAndSet(expected, withPolicy(expected, policyA));
                });
                Future<CasOutcome> fb = pool.submit(() -> {
                    go.await();
                    return b.compareAndSet(expected, withPolicy(expected, policyB));
                });
                CasOutcome ra = fa.get();
                CasOutcome rb = fb.get();
                assertThat(ra.won() ^ rb.won()).as("round %d: exactly one wins", round).isTrue();
                assertThat(ra.current().version()).isEqualTo(expected.version() + 1);
                assertThat(rb.current()).isEqualTo(ra.current());
            } finally {
                pool.shutdownNow();
            }
        }
        assertThat(a.volume("vm1").orElseThrow().version()).isEqualTo(v0.version() + 20);
    }

    private static VolumeRecord withPolicy(VolumeRecord r, String policy) {
        return new VolumeRecord(r.name(), policy, r.replicas(), r.owner(), r.ownerSession(), r.epoch(), r.replicaSet(),
                r.state(), r.version());
    }

    @Test
    void killingASessionRemovesTheHostRecordAndReportsSuspendedThenLostWithoutActing() {
        ZooKeeperCluster a = host("a", ZooKeeperTesting.SESSION_TIMEOUT);
        ZooKeeperCluster observer = host("o", ZooKeeperTesting.SESSION_TIMEOUT);
        List<SessionEvent> events = new CopyOnWriteArrayList<>();
        List<Boolean> mayAct = new CopyOnWriteArrayList<>();
        a.addListener(recordingSessions(events, a, mayAct));
        List<List<Member>> memberships = new CopyOnWriteArrayList<>();
        observer.addListener(new ClusterListener() {
            @Override
            public void hostsChanged(List<Member> live) {
                memberships.add(live);
            }
        });
        long oldSession = a.sessionId();
        Lease oldLease = a.lease();

        ZooKeeperTesting.killSession(zk, a);

        await().atMost(WAIT).untilAsserted(() -> assertThat(memberships)
                .anySatisfy(live -> assertThat(live).extracting(Member::hostId).containsExactly("o")));
        await().atMost(WAIT).untilAsserted(() -> assertThat(events).extracting(SessionEvent::state)
                .containsSubsequence(SessionState.SUSPENDED, SessionState.LOST, SessionState.RECONNECTED));
        int suspended = events.stream().map(SessionEvent::state).toList().indexOf(SessionState.SUSPENDED);
        int lost = events.stream().map(SessionEvent::state).toList().indexOf(SessionState.LOST);
        assertThat(mayAct.get(suspended)).as("mayAct while SUSPENDED").isFalse();
        assertThat(mayAct.get(lost)).as("mayAct once LOST").isFalse();
        assertThat(events.get(lost).sessionId()).isEqualTo(oldSession);
        assertThat(oldLease.isValid()).isFalse();

        // Curator's new session re-registers the host; the old lease stays void.
        await().atMost(WAIT).untilAsserted(() -> assertThat(observer.hosts())
                .anySatisfy(m -> assertThat(m.hostId()).isEqualTo("a")));
        await().atMost(WAIT).until(a::mayAct);
        assertThat(a.hosts().stream().filter(m -> m.hostId().equals("a")).findFirst().orElseThrow().sessionId())
                .isEqualTo(a.sessionId()).isNotEqualTo(oldSession);
        assertThat(oldLease.isValid()).isFalse();
    }

    @Test
    void mayActIsFalseWhileSuspendedAndReturnsWhenTheSameSessionReconnects() {
        ZooKeeperCluster a = host("a", Duration.ofSeconds(3));
        List<SessionEvent> events = new CopyOnWriteArrayList<>();
        List<Boolean> mayAct = new CopyOnWriteArrayList<>();
        a.addListener(recordingSessions(events, a, mayAct));
        Lease lease = a.lease();
        assertThat(lease.isValid()).isTrue();

        zk.stop();
        await().atMost(WAIT).until(() -> a.sessionState() == SessionState.SUSPENDED);
        assertThat(a.mayAct()).isFalse();
        assertThat(lease.isValid()).isFalse();
        assertThatThrownBy(() -> a.claimOwnership("vm1", VolumeState.ACTIVE, List.of()))
                .isInstanceOfSatisfying(ClusterException.class, e -> assertThat(e.reason()).isEqualTo(ClusterException.Reason.NOT_ACTING));

        zk.start(); // within the session timeout: the servers restore the session from their log
        await().atMost(WAIT).until(() -> a.sessionState() == SessionState.RECONNECTED);
        await().atMost(WAIT).until(lease::isValid);
        SessionEvent last = events.get(events.size() - 1);
        assertThat(last.state()).isEqualTo(SessionState.RECONNECTED);
        assertThat(last.newSession()).isFalse();
        assertThat(events).extracting(SessionEvent::state).doesNotContain(SessionState.LOST);
        assertThat(mayAct.get(events.indexOf(events.stream().filter(e -> e.state() == SessionState.SUSPENDED).findFirst().orElseThrow())))
                .isFalse();
        assertThat(a.hosts()).extracting(Member::sessionId).containsExactly(lease.sessionId());
    }

    @Test
    void aSecondIncarnationWaitsForTheFirstSessionThenRegisters() {
        ZooKeeperCluster first = host("a", ZooKeeperTesting.SESSION_TIMEOUT);
        ZooKeeperCluster second = ZooKeeperCluster.connect(ZooKeeperTesting.config(zk, "t", "a")
                .withConnectionTimeout(Duration.ofMillis(500)));
        opened.add(second);
        HostInfo info = new HostInfo("a", "a:7001", 1000, 500, "rack-a");
        assertThatThrownBy(() -> second.register(info))
                .isInstanceOfSatisfying(ClusterException.class, e -> assertThat(e.reason()).isEqualTo(ClusterException.Reason.HOST_ID_TAKEN));
        assertThat(second.mayAct()).as("no lease while the older incarnation holds the host id").isFalse();

        first.close();
        second.register(info);
        assertThat(second.mayAct()).isTrue();
        assertThat(second.hosts()).containsExactly(new Member(info, second.sessionId()));
    }

    @Test
    void connectingToNothingFailsWithUnavailable() {
        int port = zk.port();
        zk.close();
        assertThatThrownBy(() -> ZooKeeperCluster.connect(ZooKeeperClusterConfig.of("127.0.0.1:" + port, "t", "a")
                .withConnectionTimeout(Duration.ofMillis(300))))
                .isInstanceOfSatisfying(ClusterException.class, e -> assertThat(e.reason()).isEqualTo(ClusterException.Reason.UNAVAILABLE));
    }
}
