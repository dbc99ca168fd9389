package io.flashvisor.cluster;

import java.util.List;

/**
 * Callbacks from a {@link Cluster}. {@link InMemoryCluster} calls them synchronously, in event
 * order, on the thread that caused the change; the ZooKeeper binding calls them on its single
 * event thread, in the order ZooKeeper delivered the changes. Either way they never run
 * concurrently for one {@code Cluster}. They must not block for long.
 */
public interface ClusterListener {
    /** This host's session changed state. */
    default void sessionChanged(SessionEvent event) {
    }

    /** Membership changed; {@code live} is the whole current list, sorted by host id. */
    default void hostsChanged(List<Member> live) {
    }

    /** A volume record was created, changed or deleted ({@code record == null}). */
    default void volumeChanged(String name, VolumeRecord record) {
    }
}
