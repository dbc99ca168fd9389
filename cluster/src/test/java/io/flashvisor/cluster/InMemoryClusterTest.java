package io.flashvisor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The in-memory cluster's clock-driven behaviour: the timeouts a seeded simulation relies on. */
class InMemoryClusterTest {
    private static final Duration T = Duration.ofSeconds(6);
    private final ManualClock clock = new ManualClock();
    private final InMemoryCluster cluster = new InMemoryCluster(clock, T);

    private Cluster host(String id) {
        Cluster c = cluster.connect(id);
        c.register(new HostInfo(id, id + ":7000", 100, 50, "rack-" + id));
        return c;
    }

    /** Advances in heartbeat-sized steps, ticking after each. */
    private void run(Duration d) {
        Duration step = Duration.ofMillis(250);
        for (long left = d.toMillis(); left > 0; left -= step.toMillis()) {
            clock.advance(Duration.ofMillis(Math.min(step.toMillis(), left)));
            cluster.tick();
        }
    }

    private static ClusterListener sessions(List<String> log) {
        return new ClusterListener() {
            @Override
            public void sessionChanged(SessionEvent e) {
                log.add(e.state() + (e.newSession() ? "(new)" : ""));
            }
        };
    }

    @Test
    void aPartitionedHostStopsActingBeforeItsSessionExpiresAndReturnsAsANewSession() {
        Cluster a = host("a");
        Cluster b = host("b");
        List<String> log = new ArrayList<>();
        a.addListener(sessions(log));
        long session = a.lease().sessionId();
        run(Duration.ofSeconds(1));
        cluster.partition("a");

        run(T.dividedBy(2)); // lease (T/2) lapsed; not yet suspended (2T/3)
        assertThat(a.mayAct()).isFalse();
        assertThat(a.sessionState()).isEqualTo(SessionState.CONNECTED);
        run(T.dividedBy(6));
        assertThat(a.sessionState()).isEqualTo(SessionState.SUSPENDED);
        assertThat(b.hosts()).extracting(Member::hostId).containsExactly("a", "b");
        run(T.dividedBy(3)); // T since last heard: the servers expire the session
        assertThat(b.hosts()).extracting(Member::hostId).containsExactly("b");
        assertThat(a.sessionState()).isEqualTo(SessionState.SUSPENDED);
        run(T); // a further T in SUSPENDED: the client gives up
        assertThat(a.sessionState()).isEqualTo(SessionState.LOST);
        assertThat(log).containsExactly("SUSPENDED", "LOST");

        cluster.heal("a");
        assertThat(log).containsExactly("SUSPENDED", "LOST", "RECONNECTED(new)");
        assertThat(a.mayAct()).isTrue();
        assertThat(a.lease().sessionId()).isNotEqualTo(session);
        assertThat(b.hosts()).extracting(Member::hostId).containsExactly("a", "b");
    }

    @Test
    void aShortPartitionKeepsTheSessionAndTheLeaseComesBack() {
        Cluster a = host("a");
        Lease lease = a.lease();
        List<String> log = new ArrayList<>();
        a.addListener(sessions(log));
        cluster.partition("a");
        run(Duration.ofSeconds(5));
        assertThat(a.sessionState()).isEqualTo(SessionState.SUSPENDED);
        assertThat(lease.isValid()).isFalse();
        assertThatThrownBy(a::hosts).isInstanceOfSatisfying(ClusterException.class,
                e -> assertThat(e.reason()).isEqualTo(ClusterException.Reason.UNAVAILABLE));
        cluster.heal("a");
        assertThat(log).containsExactly("SUSPENDED", "RECONNECTED");
        assertThat(lease.isValid()).isTrue();
        assertThat(a.hosts()).extracting(Member::sessionId).containsExactly(lease.sessionId());
    }

    @Test
    void aCrashedHostsNewIncarnationCannotRegisterUntilTheOldSessionExpired() {
        Cluster old = host("a");
        cluster.crash(old);
        Cluster fresh = cluster.connect("a");
        HostInfo info = new HostInfo("a", "a:7001", 100, 50, "rack-a");
        assertThatThrownBy(() -> fresh.register(info)).isInstanceOfSatisfying(ClusterException.class,
                e -> assertThat(e.reason()).isEqualTo(ClusterException.Reason.HOST_ID_TAKEN));
        run(T);
        fresh.register(info);
        assertThat(fresh.hosts()).containsExactly(new Member(info, fresh.lease().sessionId()));
    }

    @Test
    void listenersRunInEventOrderAndWritesFromAListenerAreQueuedNotNested() {
        Cluster a = host("a");
        Cluster b = host("b");
        List<String> seen = new ArrayList<>();
        a.createVolume(VolumeRecord.create("vm1", "write-back", 1));
        b.addListener(new ClusterListener() {
            @Override
            public void volumeChanged(String name, VolumeRecord r) {
                seen.add("b1:" + r.epoch() + "/" + r.state());
                if (r.state() == VolumeState.ACTIVE) { // react by marking it degraded
                    b.compareAndSet(r, r.withState(VolumeState.DEGRADED, List.of()));
                }
            }
        });
        b.addListener(new ClusterListener() {
            @Override
            public void volumeChanged(String name, VolumeRecord r) {
                seen.add("b2:" + r.epoch() + "/" + r.state());
            }
        });
        a.claimOwnership("vm1", VolumeState.ACTIVE, List.of("b"));
        assertThat(seen).containsExactly("b1:1/ACTIVE", "b2:1/ACTIVE", "b1:1/DEGRADED", "b2:1/DEGRADED");
    }

    /**
     * The fencing property, over many seeded schedules: once the owner is cut off, no successor
     * wins the volume while the cut-off owner could still act, whatever the heartbeat spacing and
     * the moment of the cut. A failing seed replays exactly.
     */
    @Test
    void noSuccessorWinsWhileTheCutOffOwnerMayStillAct() {
        for (long seed = 0; seed < 500; seed++) {
            java.util.Random rnd = new java.util.Random(seed);
            ManualClock c = new ManualClock();
            InMemoryCluster zk = new InMemoryCluster(c, T);
            Cluster owner = zk.connect("a");
            owner.register(new HostInfo("a", "a:1", 10, 10, "r1"));
            Cluster successor = zk.connect("b");
            successor.register(new HostInfo("b", "b:1", 10, 10, "r2"));
            owner.createVolume(VolumeRecord.create("vm", "write-back", 1));
            Lease ownerLease = owner.lease();
            assertThat(owner.claimOwnership("vm", VolumeState.ACTIVE, List.of("b")).won()).isTrue();
            long cutAt = rnd.nextInt(5_000);
            boolean cut = false;
            boolean taken = false;
            for (int step = 0; step < 400 && !taken; step++) {
                c.advance(Duration.ofMillis(1 + rnd.nextInt((int) T.toMillis() / 6)));
                if (!cut && c.nanos() >= Duration.ofMillis(cutAt).toNanos()) {
                    zk.partition("a");
                    cut = true;
                }
                zk.tick();
                if (cut && successor.mayAct()) {
                    CasOutcome o = successor.takeOver("vm", List.of());
                    if (o.won()) {
                        taken = true;
                        assertThat(ownerLease.isValid()).as("seed %d: old owner still may act at takeover", seed).isFalse();
                    }
                }
            }
            assertThat(taken).as("seed %d: the successor eventually takes over", seed).isTrue();
            zk.heal("a");
            assertThat(ownerLease.isValid()).as("seed %d: the old lease never comes back", seed).isFalse();
        }
    }
}
