package io.flashvisor.node.volume;

import java.util.Map;

/**
 * What an operator wants to know about one cached volume; a snapshot, serialised as is by the
 * status command.
 *
 * @param health          {@code ok}; {@code draining} (left write-back, dirty data still going to the
 *                        backing store); {@code destage-failing} (the backing store refuses destage
 *                        writes; dirty data kept, retried); {@code flash-failed} (the flash device
 *                        failed: the volume runs pass-through); in a cluster {@code fenced} and
 *                        {@code degraded}; the first that applies, in the order flash-failed, fenced,
 *                        destage-failing, degraded, draining
 * @param secondsToClean  dirty bytes / recent destage rate; 0 when clean, -1 when not yet measured
 * @param bypassedBytes   bytes of sequential writes that went around flash
 * @param fallbackWrites  writes that went to the backing store because flash was full or failed
 * @param lostBlocks      blocks whose dirty data was lost to flash corruption (read as EIO)
 * @param sizing          how much flash the volume needs, from its online miss-ratio curve
 * @param fenced          this host's lease on the (replicated) volume has lapsed — whatever {@code health} shows first
 * @param degraded        a replica peer is missing or disconnected: writes wait for the backing store — whatever
 *                        {@code health} shows first (a failing destage, say)
 * @param replicas        peers promised to hold each write (0: not replicated)
 * @param liveReplicas    connected peers in the replica set now; fewer than {@code replicas} means degraded
 * @param replicaFallbackWrites writes acknowledged only once on the backing store because a replica copy was missing
 * @param destageFailures destage batches that failed since start (retries counted again)
 * @param latency         per {@link LatencyComponent} label: the last minute's quantiles and the totals (docs/observability.md)
 */
public record VolumeStatus(String name, String policy, String health, long sizeBytes, long hits, long misses,
                           long cachedBytes, long dirtyBytes, long destagedBytes, double destageBytesPerSecond,
                           double secondsToClean, int destageWritesInFlight, String destageError, String flashFailure,
                           long bypassedBytes, long fallbackWrites, long lostBlocks, Sizing sizing, boolean fenced,
                           boolean degraded, int replicas, int liveReplicas, long replicaFallbackWrites, long destageFailures,
                           Map<String, LatencySummary> latency) {

}
