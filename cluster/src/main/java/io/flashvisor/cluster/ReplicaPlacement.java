package io.flashvisor.cluster;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Chooses the peers that hold an owner's dirty writes. Pure and deterministic: the same inputs
 * give the same answer on every host and in the simulation.
 *
 * <p>Rule, one peer at a time: among live hosts other than the owner, not excluded and with free
 * flash, take the one whose fault domain is least used so far (the owner's domain counts as used
 * once, so other domains come first, and two replicas go to two different domains when they can);
 * then the one with the most free flash; then the smallest host id. Peers the caller already keeps
 * count as used and are not chosen again.
 *
 * <p>When fewer suitable hosts exist than asked for, the placement says so ({@link
 * Placement#complete()} false, {@link Placement#missing()} how many) and returns what it could
 * find. It never pads with the owner or with excluded hosts; whether the volume then runs
 * {@link VolumeState#DEGRADED} with fewer copies, falls back to write-through, or refuses
 * write-back is the volume's policy, decided by the caller.
 */
public final class ReplicaPlacement {
    private ReplicaPlacement() {
    }

    /**
     * @param peers                 the chosen peers, in choice order (kept ones first)
     * @param missing               how many more were asked for than found
     * @param faultDomainsSeparated every chosen peer is in a fault domain of its own, different from the owner's
     */
    public record Placement(List<String> peers, int missing, boolean faultDomainsSeparated) {
        public boolean complete() {
            return missing == 0;
        }
    }

    /**
     * @param owner    the owner (never chosen; its fault domain counts as used)
     * @param replicas how many peers the volume needs in total
     * @param live     live hosts (must include the owner for its fault domain to count)
     * @param keep     peers already holding replicas that stay (e.g. the survivors after a peer loss)
     * @param exclude  hosts not to choose (e.g. a peer that just failed or is draining)
     */
    public static Placement choose(String owner, int replicas, Collection<HostInfo> live, List<String> keep, Set<String> exclude) {
        if (replicas < 0) {
            throw new IllegalArgumentException("replicas must be >= 0: " + replicas);
        }
        Map<String, HostInfo> byId = new HashMap<>();
        live.forEach(h -> byId.put(h.hostId(), h));
        Map<String, Integer> domainUse = new HashMap<>();
        Optional.ofNullable(byId.get(owner)).ifPresent(h -> domainUse.merge(h.faultDomain(), 1, Integer::sum));

        List<String> chosen = new ArrayList<>();
        for (String k : keep) {
            HostInfo h = byId.get(k);
            if (h != null && !k.equals(owner) && !chosen.contains(k) && chosen.size() < replicas) {
                chosen.add(k);
                domainUse.merge(h.faultDomain(), 1, Integer::sum);
            }
        }
        List<HostInfo> candidates = new ArrayList<>(live.stream()
                .filter(h -> !h.hostId().equals(owner) && !exclude.contains(h.hostId()) && !chosen.contains(h.hostId()))
                .filter(h -> h.freeFlashBytes() > 0)
                .toList());
        while (chosen.size() < replicas && !candidates.isEmpty()) {
            HostInfo best = candidates.stream().min(Comparator
                    .<HostInfo>comparingInt(h -> domainUse.getOrDefault(h.faultDomain(), 0))
                    .thenComparing(Comparator.comparingLong(HostInfo::freeFlashBytes).reversed())
                    .thenComparing(HostInfo::hostId)).orElseThrow();
            candidates.remove(best);
            chosen.add(best.hostId());
            domainUse.merge(best.faultDomain(), 1, Integer::sum);
        }
        boolean separated = domainUse.values().stream().allMatch(n -> n == 1);
        return new Placement(List.copyOf(chosen), replicas - chosen.size(), separated);
    }

    /** Convenience: a fresh placement from the current membership. */
    public static Placement choose(String owner, int replicas, List<Member> live) {
        return choose(owner, replicas, live.stream().map(Member::info).toList(), List.of(), Set.of());
    }
}
