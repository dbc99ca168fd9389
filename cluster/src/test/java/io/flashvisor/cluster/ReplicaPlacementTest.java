package io.flashvisor.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReplicaPlacementTest {
    private static HostInfo h(String id, String domain, long free) {
        return new HostInfo(id, id + ":1", 1000, free, domain);
    }

    private static final List<HostInfo> HOSTS = List.of(
            h("owner", "r1", 900), h("same", "r1", 999), h("x", "r2", 100), h("y", "r2", 500), h("z", "r3", 300));

    @Test
    void otherFaultDomainsFirstThenMostFreeFlash() {
        var p = ReplicaPlacement.choose("owner", 1, HOSTS, List.of(), Set.of());
        assertThat(p.peers()).containsExactly("y");
        assertThat(p.complete()).isTrue();
        assertThat(p.faultDomainsSeparated()).isTrue();
    }

    @Test
    void twoReplicasGoToTwoDifferentDomains() {
        var p = ReplicaPlacement.choose("owner", 2, HOSTS, List.of(), Set.of());
        assertThat(p.peers()).containsExactly("y", "z");
        assertThat(p.faultDomainsSeparated()).isTrue();
    }

    @Test
    void whenDomainsRunOutTheOwnersDomainIsUsedAndSaidSo() {
        var p = ReplicaPlacement.choose("owner", 2, List.of(h("owner", "r1", 1), h("same", "r1", 5), h("x", "r2", 1)), List.of(), Set.of());
        assertThat(p.peers()).containsExactly("x", "same");
        assertThat(p.complete()).isTrue();
        assertThat(p.faultDomainsSeparated()).isFalse();
    }

    @Test
    void tooFewHostsGivesAnIncompletePlacementAndNeverTheOwnerOrExcludedOrFullHosts() {
        List<HostInfo> hosts = List.of(h("owner", "r1", 9), h("x", "r2", 9), h("full", "r3", 0), h("bad", "r4", 9));
        var p = ReplicaPlacement.choose("owner", 2, hosts, List.of(), Set.of("bad"));
        assertThat(p.peers()).containsExactly("x");
        assertThat(p.complete()).isFalse();
        assertThat(p.missing()).isEqualTo(1);
        assertThat(ReplicaPlacement.choose("owner", 1, List.of(h("owner", "r1", 9)), List.of(), Set.of()).missing()).isEqualTo(1);
        assertThat(ReplicaPlacement.choose("owner", 0, hosts, List.of(), Set.of()).peers()).isEmpty();
    }

    @Test
    void keptPeersStayAndCountTowardsTheirDomain() {
        var p = ReplicaPlacement.choose("owner", 2, HOSTS, List.of("x"), Set.of());
        assertThat(p.peers()).containsExactly("x", "z"); // r2 is used by x, so z (r3) before y (r2)
        var gone = ReplicaPlacement.choose("owner", 2, HOSTS, List.of("departed", "x"), Set.of());
        assertThat(gone.peers()).containsExactly("x", "z");
    }

    @Test
    void tiesBreakByHostIdAndInputOrderDoesNotMatter() {
        List<HostInfo> hosts = new ArrayList<>(List.of(h("owner", "r1", 1), h("c", "r2", 5), h("a", "r3", 5), h("b", "r4", 5)));
        Random rnd = new Random(42);
        for (int i = 0; i < 20; i++) {
            Collections.shuffle(hosts, rnd);
            assertThat(ReplicaPlacement.choose("owner", 2, hosts, List.of(), Set.of()).peers()).containsExactly("a", "b");
        }
    }
}
