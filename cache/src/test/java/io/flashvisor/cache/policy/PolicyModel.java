package io.flashvisor.cache.policy;

import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

/**
 * A log-structured cache in its simplest form, for testing policies: every queue is a FIFO of
 * single-block segments, and reclaim follows the same protocol the engine uses (ask the policy
 * which queue, then what happens to each live block of the oldest segment).
 */
final class PolicyModel {
    private final EvictionPolicy policy;
    private final long capacity;
    private final Map<Long, Byte> states = new HashMap<>();
    private final Map<Long, Long> versions = new HashMap<>();
    private final EnumMap<Queue, ArrayDeque<long[]>> queues = new EnumMap<>(Queue.class);
    private long version;
    long hits;
    long misses;

    PolicyModel(EvictionPolicy policy, long capacity) {
        this.policy = policy;
        this.capacity = capacity;
        for (Queue q : Queue.values()) {
            queues.put(q, new ArrayDeque<>());
        }
    }

    void access(long key) {
        Byte state = states.get(key);
        if (state != null) {
            hits++;
            states.put(key, policy.accessed(state));
            return;
        }
        misses++;
        while (states.size() >= capacity) {
            reclaimOne();
        }
        append(key, policy.admitted(key));
    }

    boolean contains(long key) {
        return states.containsKey(key);
    }

    double hitRatio() {
        return (double) hits / (hits + misses);
    }

    private void append(long key, byte state) {
        states.put(key, state);
        versions.put(key, ++version);
        queues.get(BlockState.queue(state)).addLast(new long[] {key, version});
    }

    private void reclaimOne() {
        Queue q = policy.queueToReclaim(queues.get(Queue.SMALL).size(), queues.get(Queue.MAIN).size());
        long[] entry = queues.get(q).pollFirst();
        if (entry == null) {
            throw new AssertionError("policy chose empty queue " + q);
        }
        long key = entry[0];
        if (!versions.get(key).equals(entry[1])) {
            return; // a stale copy: the block was re-appended since
        }
        int verdict = policy.reclaimed(key, states.get(key));
        if (verdict == EvictionPolicy.EVICT) {
            states.remove(key);
            versions.remove(key);
            policy.forgotten(key);
        } else {
            append(key, (byte) verdict);
        }
    }
}
