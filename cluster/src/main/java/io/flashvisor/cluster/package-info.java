/**
 * Membership, volume records, ownership and epochs (layer 1; knows only {@code common}).
 *
 * <p>The API is {@link io.flashvisor.cluster.Cluster}: one host's connection to the cluster's
 * coordination service. Two implementations share one contract: {@link
 * io.flashvisor.cluster.InMemoryCluster} (deterministic, single-threaded, manual clock — for
 * unit tests and the seeded simulation) and {@link io.flashvisor.cluster.ZooKeeperCluster}
 * (Apache ZooKeeper through Apache Curator). See {@code docs/cluster.md}.
 */
package io.flashvisor.cluster;
