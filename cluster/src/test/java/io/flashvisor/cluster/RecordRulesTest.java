package io.flashvisor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class RecordRulesTest {
    private static final HostInfo A = new HostInfo("a", "a:1", 1, 1, "r1");
    private static final HostInfo B = new HostInfo("b", "b:1", 1, 1, "r2");
    private final VolumeRecord owned = VolumeRecord.create("vm", "write-back", 1).claimedBy("a", 11, VolumeState.ACTIVE, List.of("b"));

    @Test
    void claimsFollowTheOwnersSession() {
        assertThat(RecordRules.mayClaim(VolumeRecord.create("vm", "write-back", 1), "b", 22, List.of())).isTrue();
        assertThat(RecordRules.mayClaim(owned, "b", 22, List.of(new Member(A, 11), new Member(B, 22)))).isFalse();
        assertThat(RecordRules.mayClaim(owned, "b", 22, List.of(new Member(B, 22)))).isTrue(); // owner gone
        assertThat(RecordRules.mayClaim(owned, "b", 22, List.of(new Member(A, 12), new Member(B, 22)))).isTrue(); // owner restarted
        assertThat(RecordRules.mayClaim(owned, "a", 12, List.of(new Member(A, 12)))).isTrue(); // own older incarnation
        assertThat(RecordRules.mayClaim(owned, "a", 11, List.of(new Member(A, 11)))).isFalse(); // already owner
    }

    @Test
    void theEpochMovesByOneExactlyWhenTheOwningSessionChanges() {
        VolumeRecord v0 = VolumeRecord.create("vm", "write-back", 1);
        RecordRules.checkUpdate(v0, owned);
        RecordRules.checkUpdate(owned, owned.withState(VolumeState.DEGRADED, List.of()));
        RecordRules.checkUpdate(owned, owned.released());
        RecordRules.checkUpdate(owned, owned.claimedBy("a", 12, VolumeState.ACTIVE, List.of()));
        assertThatThrownBy(() -> RecordRules.checkUpdate(owned, new VolumeRecord("vm", "write-back", 1, "b", 22, 1,
                List.of(), VolumeState.ACTIVE, 0))).isInstanceOf(ClusterException.class);
        assertThatThrownBy(() -> RecordRules.checkUpdate(owned, new VolumeRecord("vm", "write-back", 1, "a", 11, 2,
                List.of(), VolumeState.ACTIVE, 0))).isInstanceOf(ClusterException.class);
        assertThatThrownBy(() -> RecordRules.checkUpdate(owned, VolumeRecord.create("other", "write-back", 1)))
                .isInstanceOf(ClusterException.class);
    }

    @Test
    void recordsRejectImpossibleShapes() {
        assertThatThrownBy(() -> new VolumeRecord("vm", "wb", 1, null, 0, 0, List.of(), VolumeState.ACTIVE, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new VolumeRecord("vm", "wb", 1, "a", 1, 1, List.of("a"), VolumeState.ACTIVE, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new VolumeRecord("vm", "wb", 1, "a", 1, 1, List.of("b", "c"), VolumeState.ACTIVE, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new VolumeRecord("a/b", "wb", 1, null, 0, 0, List.of(), VolumeState.CLEAN, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
