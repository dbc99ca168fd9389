package io.flashvisor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour both implementations share: one scenario per test, run once against {@link
 * InMemoryCluster} and once against ZooKeeper, so the simulation's cluster is the real one's twin.
 */
abstract class ClusterContractTest {
    /** Starts hosts and breaks them, the same way for either implementation. */
    interface Harness extends AutoCloseable {
        Cluster connect(String hostId);

        /** The servers end the session of {@code c} now. */
        void expire(Cluster c);

        /** Asserts {@code check} eventually holds (after clock ticks / background delivery). */
        void eventually(Runnable check);

        @Override
        void close();
    }

    abstract Harness harness() throws Exception;

    private Harness h;
    private final List<Cluster> opened = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        h = harness();
    }

    @AfterEach
    void tearDown() throws Exception {
        opened.forEach(Cluster::close);
        h.close();
    }

    private Cluster host(String id, String domain) {
        Cluster c = h.connect(id);
        opened.add(c);
        c.register(new HostInfo(id, id + ":7000", 1000, 800, domain));
        return c;
    }

    @Test
    void registeredHostsAreListedWithTheirSessionAndVanishWhenClosed() {
        Cluster a = host("a", "rack1");
        Cluster b = host("b", "rack2");
        List<Member> live = a.hosts();
        assertThat(live).extracting(Member::hostId).containsExactly("a", "b");
        assertThat(live.get(0).sessionId()).isEqualTo(a.lease().sessionId());
        b.close();
        h.eventually(() -> assertThat(a.hosts()).extracting(Member::hostId).containsExactly("a"));
    }

    @Test
    void updateHostReplacesTheAnnouncement() {
        Cluster a = host("a", "rack1");
        a.updateHost(new HostInfo("a", "a:7000", 1000, 10, "rack1"));
        assertThat(a.hosts().get(0).info().freeFlashBytes()).isEqualTo(10);
    }

    @Test
    void createdVolumeStartsAtVersionZeroAndNamesAreUnique() {
        Cluster a = host("a", "rack1");
        VolumeRecord v = a.createVolume(VolumeRecord.create("vm1", "write-back", 1));
        assertThat(v.version()).isZero();
        assertThat(a.volume("vm1")).contains(v);
        assertThatThrownBy(() -> a.createVolume(VolumeRecord.create("vm1", "write-back", 1)))
                .isInstanceOfSatisfying(ClusterException.class, e -> assertThat(e.reason()).isEqualTo(ClusterException.Reason.ALREADY_EXISTS));
        assertThat(a.volume("nope")).isEmpty();
    }

    @Test
    void compareAndSetAgainstAStaleVersionLosesAndReturnsTheCurrentRecord() {
        Cluster a = host("a", "rack1");
        Cluster b = host("b", "rack2");
        VolumeRecord v0 = a.createVolume(VolumeRecord.create("vm1", "write-back", 1));
        CasOutcome first = a.compareAndSet(v0, v0.claimedBy("a", a.lease().sessionId(), VolumeState.ACTIVE, List.of("b")));
        assertThat(first.won()).isTrue();
        assertThat(first.current().version()).isEqualTo(1);
        assertThat(first.current().epoch()).isEqualTo(1);

        CasOutcome second = b.compareAndSet(v0, v0.claimedBy("b", b.lease().sessionId(), VolumeState.ACTIVE, List.of()));
        assertThat(second.won()).isFalse();
        assertThat(second.current()).isEqualTo(first.current());
        assertThat(b.volume("vm1")).contains(first.current());
    }

    @Test
    void updatesThatBreakTheEpochRuleAreRefused() {
        Cluster a = host("a", "rack1");
        VolumeRecord v0 = a.createVolume(VolumeRecord.create("vm1", "write-back", 1));
        VolumeRecord ownerWithoutEpochBump = new VolumeRecord("vm1", "write-back", 1, "a", a.lease().sessionId(), 0,
                List.of(), VolumeState.ACTIVE, v0.version());
        assertThatThrownBy(() -> a.compareAndSet(v0, ownerWithoutEpochBump))
                .isInstanceOfSatisfying(ClusterException.class, e -> assertThat(e.reason()).isEqualTo(ClusterException.Reason.INVALID_UPDATE));
        VolumeRecord claimed = a.claimOwnership("vm1", VolumeState.ACTIVE, List.of()).current();
        VolumeRecord epochJump = new VolumeRecord("vm1", "write-back", 1, "a", a.lease().sessionId(), 5,
                List.of(), VolumeState.ACTIVE, claimed.version());
        assertThatThrownBy(() -> a.compareAndSet(claimed, epochJump)).isInstanceOf(ClusterException.class);
        assertThat(a.volume("vm1")).contains(claimed);
    }

    @Test
    void deleteNeedsTheCurrentVersion() {
        Cluster a = host("a", "rack1");
        VolumeRecord v0 = a.createVolume(VolumeRecord.create("vm1", "write-back", 0));
        VolumeRecord v1 = a.compareAndSet(v0, v0.withState(VolumeState.CLEAN, List.of())).current();
        assertThat(a.deleteVolume(v0)).isFalse();
        assertThat(a.deleteVolume(v1)).isTrue();
        assertThat(a.volumes()).isEmpty();
    }

    @Test
    void aLiveOwnerKeepsItsVolumeAndAnExpiredOneLosesItToATakeover() {
        Cluster a = host("a", "rack1");
        Cluster b = host("b", "rack2");
        a.createVolume(VolumeRecord.create("vm1", "write-back", 1));
        CasOutcome claim = a.claimOwnership("vm1", VolumeState.ACTIVE, List.of("b"));
        assertThat(claim.won()).isTrue();
        assertThat(claim.current().owner()).isEqualTo("a");
        assertThat(claim.current().ownerSession()).isEqualTo(a.lease().sessionId());
        assertThat(a.claimOwnership("vm1", VolumeState.ACTIVE, List.of("b")).current()).isEqualTo(claim.current()); // idempotent

        CasOutcome refused = b.takeOver("vm1", List.of());
        assertThat(refused.won()).isFalse();
        assertThat(refused.current().owner()).isEqualTo("a");

        Lease oldLease = a.lease();
        h.expire(a);
        h.eventually(() -> assertThat(b.hosts()).noneMatch(m -> m.sessionId() == oldLease.sessionId()));
        h.eventually(() -> assertThat(b.mayAct()).isTrue());
        CasOutcome takeover = b.takeOver("vm1", List.of());
        assertThat(takeover.won()).isTrue();
        assertThat(takeover.current().owner()).isEqualTo("b");
        assertThat(takeover.current().epoch()).isEqualTo(2);
        assertThat(takeover.current().state()).isEqualTo(VolumeState.TAKEOVER);

        // The old owner comes back in a new session: its old lease stays void; it is a member again but not the owner.
        h.eventually(() -> assertThat(a.mayAct()).isTrue());
        h.eventually(() -> assertThat(a.hosts()).extracting(Member::hostId).containsExactly("a", "b"));
        assertThat(oldLease.isValid()).isFalse();
        assertThat(a.lease().sessionId()).isNotEqualTo(oldLease.sessionId());
        assertThat(a.claimOwnership("vm1", VolumeState.ACTIVE, List.of()).won()).isFalse();
    }

    @Test
    void aHostThatGotANewSessionReclaimsItsVolumeInANewEpoch() {
        Cluster a = host("a", "rack1");
        a.createVolume(VolumeRecord.create("vm1", "write-back", 0));
        VolumeRecord first = a.claimOwnership("vm1", VolumeState.ACTIVE, List.of()).current();
        h.expire(a);
        h.eventually(() -> assertThat(a.mayAct()).isTrue());
        h.eventually(() -> assertThat(a.hosts()).anyMatch(m -> m.sessionId() == a.lease().sessionId()));
        CasOutcome again = a.claimOwnership("vm1", VolumeState.ACTIVE, List.of());
        assertThat(again.won()).isTrue();
        assertThat(again.current().epoch()).isEqualTo(first.epoch() + 1);
    }

    @Test
    void aClaimDecidedOnAnOutdatedRecordLoses() {
        Cluster a = host("a", "rack1");
        Cluster b = host("b", "rack2");
        VolumeRecord seen = a.createVolume(VolumeRecord.create("vm1", "write-back", 1));
        VolumeRecord byB = b.claimOwnership("vm1", VolumeState.ACTIVE, List.of("a")).current();
        b.compareAndSet(byB, byB.released());
        CasOutcome late = a.claimOwnership(seen, VolumeState.ACTIVE, List.of("b"));
        assertThat(late.won()).isFalse();
        assertThat(late.current().epoch()).isEqualTo(seen.epoch() + 2);
        assertThat(a.claimOwnership(late.current(), VolumeState.ACTIVE, List.of("b")).won()).isTrue();
    }

    @Test
    void listenersHearVolumeChangesMadeByOtherHosts() {
        Cluster a = host("a", "rack1");
        Cluster b = host("b", "rack2");
        List<String> heard = new CopyOnWriteArrayList<>();
        b.addListener(new ClusterListener() {
            @Override
            public void volumeChanged(String name, VolumeRecord record) {
                heard.add(name + "@" + (record == null ? "deleted" : record.epoch()));
            }
        });
        VolumeRecord v0 = a.createVolume(VolumeRecord.create("vm1", "write-back", 1));
        h.eventually(() -> assertThat(heard).contains("vm1@0"));
        VolumeRecord v1 = a.claimOwnership("vm1", VolumeState.ACTIVE, List.of("b")).current();
        h.eventually(() -> assertThat(heard).contains("vm1@1"));
        assertThat(a.deleteVolume(v1)).isTrue();
        h.eventually(() -> assertThat(heard).endsWith("vm1@deleted"));
        assertThat(v0.version()).isZero();
    }

    @Test
    void anExpiredSessionIsReportedSuspendedThenLostThenReconnectedWithANewSession() {
        Cluster a = host("a", "rack1");
        List<SessionEvent> events = new CopyOnWriteArrayList<>();
        a.addListener(new ClusterListener() {
            @Override
            public void sessionChanged(SessionEvent event) {
                events.add(event);
            }
        });
        long before = a.lease().sessionId();
        h.expire(a);
        h.eventually(() -> assertThat(events).extracting(SessionEvent::state)
                .containsSubsequence(SessionState.SUSPENDED, SessionState.LOST, SessionState.RECONNECTED));
        SessionEvent last = events.get(events.size() - 1);
        assertThat(last.newSession()).isTrue();
        assertThat(last.sessionId()).isNotEqualTo(before);
    }

    @Test
    void theViewListsHostsAndVolumesWithOwnerEpochReplicasAndState() {
        Cluster a = host("a", "rack1");
        host("b", "rack2");
        a.createVolume(VolumeRecord.create("vm1", "write-back", 1));
        a.claimOwnership("vm1", VolumeState.ACTIVE, List.of("b"));
        ClusterView view = a.view();
        assertThat(view.hosts()).hasSize(2);
        assertThat(view.ownerLive(view.volumes().get(0))).isTrue();
        String text = view.render();
        assertThat(text).contains("vm1").contains("write-back").contains("ACTIVE").contains("rack2");
        assertThat(text.lines().filter(l -> l.startsWith("vm1")).findFirst().orElseThrow())
                .matches("vm1\\s+write-back\\s+a\\s+1\\s+1\\s+ACTIVE\\s+b");
    }
}
