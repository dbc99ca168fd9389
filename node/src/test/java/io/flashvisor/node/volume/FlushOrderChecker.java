package io.flashvisor.node.volume;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks the destager's promise: whenever the backing store is flushed, its image is the volume
 * as of some client FLUSH k, plus possibly some writes of the epoch after it — never a write of a
 * later epoch while an earlier epoch's write is missing. That is what makes the backing store a
 * crash-consistent image if the flash device is lost.
 *
 * <p>Writes are whole 4 KiB blocks whose first 8 bytes are a unique version number (0 = never
 * written). Thread-safe (synchronised): the test records, the destager's flushes check.
 */
final class FlushOrderChecker {
    /** Per epoch: block → versions written in it, in order. */
    private final List<Map<Integer, List<Long>>> epochs = new ArrayList<>();
    private final int blocks;
    private final List<String> violations = new ArrayList<>();
    private int checks;

    FlushOrderChecker(int blocks) {
        this.blocks = blocks;
        epochs.add(new HashMap<>());
    }

    /** Call before issuing the write. */
    synchronized void wrote(int block, long version) {
        epochs.getLast().computeIfAbsent(block, b -> new ArrayList<>()).add(version);
    }

    /** Call before issuing the FLUSH. */
    synchronized void flushed() {
        epochs.add(new HashMap<>());
    }

    /** The image of the backing store at one of its flushes. */
    synchronized void check(byte[] image) {
        checks++;
        if (consistentEpoch(image) < 0) {
            violations.add("backing-store flush " + checks + " holds no FLUSH-consistent image: " + describe(image));
        }
    }

    synchronized List<String> violations() {
        return List.copyOf(violations);
    }

    synchronized int checks() {
        return checks;
    }

    /** The k for which the image is "as of FLUSH k plus some writes of epoch k+1", or -1. */
    synchronized int consistentEpoch(byte[] image) {
        long[] state = new long[blocks]; // newest version per block as of the start of epoch k
        for (int k = 0; k < epochs.size(); k++) {
            Map<Integer, List<Long>> next = epochs.get(k);
            boolean ok = true;
            for (int b = 0; b < blocks && ok; b++) {
                long v = version(image, b);
                List<Long> inNext = next.get(b);
                ok = v == state[b] || inNext != null && inNext.contains(v);
            }
            if (ok) {
                return k;
            }
            for (Map.Entry<Integer, List<Long>> e : next.entrySet()) {
                state[e.getKey()] = e.getValue().getLast();
            }
        }
        return -1;
    }

    private String describe(byte[] image) {
        Set<Long> seen = new HashSet<>();
        StringBuilder sb = new StringBuilder();
        for (int b = 0; b < blocks && sb.length() < 300; b++) {
            long v = version(image, b);
            if (v != 0 && seen.add(v)) {
                sb.append("block ").append(b).append("=v").append(v).append(' ');
            }
        }
        return sb.toString();
    }

    static long version(byte[] image, int block) {
        return ByteBuffer.wrap(image, block * 4096, 8).getLong();
    }
}
