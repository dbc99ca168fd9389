package io.flashvisor.cluster;

import java.util.List;

/**
 * A read-only snapshot of the cluster for status commands: live hosts and every volume with
 * owner, epoch, replicas and state. {@link #render()} prints it as two plain-text tables.
 */
public record ClusterView(List<Member> hosts, List<VolumeRecord> volumes) {
    public ClusterView {
        hosts = List.copyOf(hosts);
        volumes = List.copyOf(volumes);
    }

    /** Is the volume's owner alive in the session that claimed it? */
    public boolean ownerLive(VolumeRecord volume) {
        return RecordRules.ownerLive(volume, hosts);
    }

    public String render() {
        StringBuilder out = new StringBuilder();
        out.append(String.format("%-16s %-22s %-12s %12s %12s%n", "HOST", "PEER ADDRESS", "FAULT DOMAIN", "FLASH", "FREE"));
        for (Member m : hosts) {
            HostInfo h = m.info();
            out.append(String.format("%-16s %-22s %-12s %12d %12d%n",
                    h.hostId(), h.peerAddress(), h.faultDomain(), h.flashCapacityBytes(), h.freeFlashBytes()));
        }
        out.append(System.lineSeparator());
        out.append(String.format("%-20s %-13s %-16s %6s %8s %-9s %s%n", "VOLUME", "POLICY", "OWNER", "EPOCH", "REPLICAS", "STATE", "REPLICA SET"));
        for (VolumeRecord v : volumes) {
            String owner = v.hasOwner() ? v.owner() + (ownerLive(v) ? "" : " (gone)") : "-";
            out.append(String.format("%-20s %-13s %-16s %6d %8d %-9s %s%n", v.name(), v.policy(), owner, v.epoch(),
                    v.replicas(), v.state(), v.replicaSet().isEmpty() ? "-" : String.join(",", v.replicaSet())));
        }
        return out.toString();
    }
}
