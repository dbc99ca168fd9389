package io.flashvisor.it;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * 4 KiB blocks that say which write they are: block number and a version from one global, increasing
 * counter, a pattern derived from both, and a CRC32C. Whoever receives a block (the recording
 * backing store) can tell its version from the data alone; a torn, misplaced or foreign block is
 * told apart from an unwritten one (all zeroes, version 0).
 *
 * <pre>
 *  0        8        16       24                                  4092     4096
 * +--------+--------+--------+------------------------------------+--------+
 * | magic  | block  | version| pattern(block, version)            | CRC32C |
 * +--------+--------+--------+------------------------------------+--------+
 * </pre>
 */
final class VersionedBlocks {
    static final int BLOCK = 4096;
    static final long MAGIC = 0x4656_5342_4c4f_434bL; // "FVSBLOCK"
    /** {@link #versionOf}: the block holds something that is not a valid stamped block for its position. */
    static final long CORRUPT = -1;

    private VersionedBlocks() {
    }

    static byte[] stamp(long block, long version) {
        ByteBuffer b = ByteBuffer.allocate(BLOCK);
        b.putLong(MAGIC).putLong(block).putLong(version);
        long x = block * 0x9E3779B97F4A7C15L ^ version;
        while (b.position() < BLOCK - 4) {
            x = mix(x + 0x9E3779B97F4A7C15L);
            b.putInt((int) x);
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, BLOCK - 4);
        b.putInt((int) crc.getValue());
        return b.array();
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * The version of the 4 KiB block at {@code pos} of {@code data}, which sits at block number
     * {@code block} of the disk: 0 if all zeroes (never written), {@link #CORRUPT} if it is not a
     * block stamped for this position with a matching pattern and checksum.
     */
    static long versionOf(byte[] data, int pos, long block) {
        boolean zero = true;
        for (int i = pos; i < pos + BLOCK; i++) {
            if (data[i] != 0) {
                zero = false;
                break;
            }
        }
        if (zero) {
            return 0;
        }
        ByteBuffer b = ByteBuffer.wrap(data, pos, BLOCK);
        if (b.getLong() != MAGIC || b.getLong() != block) {
            return CORRUPT;
        }
        long version = b.getLong();
        if (version <= 0 || !java.util.Arrays.equals(data, pos, pos + BLOCK, stamp(block, version), 0, BLOCK)) {
            return CORRUPT;
        }
        return version;
    }

    /**
     * Writes stamped blocks through NBD connections and remembers, per block, the newest version that
     * was acknowledged. Versions come from one counter for the whole test, whichever host a block is
     * written to, so a larger version is always a later write.
     */
    static final class Writer {
        private final AtomicLong counter = new AtomicLong();
        private final Map<Long, Long> acked = new ConcurrentHashMap<>();
        private final AtomicLong ackedWrites = new AtomicLong();
        private final AtomicLong refusedWrites = new AtomicLong();

        /** Writes the next version of {@code block}; returns it if acknowledged, or {@code -version} if refused. */
        long write(RawNbdClient client, long block) throws IOException {
            long version = counter.incrementAndGet();
            RawNbdClient.SimpleReply r = client.write(block * BLOCK, stamp(block, version));
            if (r.error() != 0) {
                refusedWrites.incrementAndGet();
                return -version;
            }
            acked.merge(block, version, Math::max);
            ackedWrites.incrementAndGet();
            return version;
        }

        /**
         * Writes the next version of each block, with up to {@code depth} requests in flight on the connection (as a
         * VM's virtio queue would: the host group-commits them); returns how many were acknowledged.
         */
        int writeAll(RawNbdClient client, List<Long> blocks, int depth) throws IOException {
            Map<Long, long[]> inFlight = new java.util.HashMap<>(); // cookie -> {block, version}
            int next = 0;
            int ok = 0;
            while (next < blocks.size() || !inFlight.isEmpty()) {
                while (next < blocks.size() && inFlight.size() < depth) {
                    long block = blocks.get(next++);
                    long version = counter.incrementAndGet();
                    long cookie = client.sendRequest(0, io.flashvisor.nbd.wire.NbdConstants.CMD_WRITE, block * BLOCK, BLOCK);
                    client.send(stamp(block, version));
                    inFlight.put(cookie, new long[] {block, version});
                }
                RawNbdClient.SimpleReply r = client.readSimpleReply(0);
                long[] w = inFlight.remove(r.cookie());
                if (w == null) {
                    throw new IOException("reply for unknown cookie " + r.cookie());
                }
                if (r.error() != 0) {
                    refusedWrites.incrementAndGet();
                } else {
                    acked.merge(w[0], w[1], Math::max);
                    ackedWrites.incrementAndGet();
                    ok++;
                }
            }
            return ok;
        }

        /** The last version handed out so far (every later write gets a larger one). */
        long lastVersion() {
            return counter.get();
        }

        /** Block → newest acknowledged version. */
        Map<Long, Long> acked() {
            return new TreeMap<>(acked);
        }

        long ackedWrites() {
            return ackedWrites.get();
        }

        long refusedWrites() {
            return refusedWrites.get();
        }
    }

    /** One backing-store write in which a block went back to an older version. */
    record Violation(RecordingStore.Entry write, long block, long version, long newer, RecordingStore.Entry newerWrite) {
        @Override
        public String toString() {
            return "block " + block + ": version " + version + " (write #" + write.seq() + " via export '" + write.export() + "' at "
                    + write.atMillis() + " ms) after version " + newer + " (write #" + newerWrite.seq() + " via '" + newerWrite.export()
                    + "' at " + newerWrite.atMillis() + " ms)";
        }
    }

    /** What the checker found. */
    record Verdict(int writes, long blocksWritten, List<Violation> violations, List<String> corrupt, List<String> wrongFinal) {
        boolean clean() {
            return violations.isEmpty() && corrupt.isEmpty() && wrongFinal.isEmpty();
        }

        String summary() {
            return writes + " backing writes (" + blocksWritten + " blocks): " + violations.size() + " stale overwrites, " + corrupt.size()
                    + " corrupt blocks, " + wrongFinal.size() + " blocks not at their newest acknowledged version";
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(summary());
            violations.stream().limit(10).forEach(v -> sb.append("\n  stale: ").append(v));
            corrupt.stream().limit(10).forEach(c -> sb.append("\n  corrupt: ").append(c));
            wrongFinal.stream().limit(10).forEach(w -> sb.append("\n  final: ").append(w));
            return sb.toString();
        }
    }

    /**
     * The checker (I2): in the order the backing store received its writes, no block may ever go
     * back to an older version than one it already received (a rewrite of the same version is
     * fine: a takeover rewrites what the owner may already have destaged); every block received
     * must be a valid stamped block; and the store's content now must be, for every block the test
     * wrote, its newest acknowledged version.
     */
    static Verdict check(RecordingStore store, Map<Long, Long> newestAcked) {
        List<RecordingStore.Entry> log = store.log();
        Map<Long, Long> newest = new java.util.HashMap<>();
        Map<Long, RecordingStore.Entry> newestBy = new java.util.HashMap<>();
        List<Violation> violations = new ArrayList<>();
        List<String> corrupt = new ArrayList<>();
        int writes = 0;
        long blocks = 0;
        for (RecordingStore.Entry e : log) {
            if (!e.isWrite()) {
                continue;
            }
            writes++;
            if (e.offset() % BLOCK != 0 || e.length() % BLOCK != 0) {
                corrupt.add("write #" + e.seq() + " via '" + e.export() + "' is not 4 KiB aligned: offset " + e.offset() + " length "
                        + e.length());
                continue;
            }
            for (int i = 0; i < e.versions().length; i++) {
                long block = e.offset() / BLOCK + i;
                long v = e.versions()[i];
                blocks++;
                if (v == CORRUPT) {
                    corrupt.add("block " + block + " in write #" + e.seq() + " via '" + e.export() + "'");
                    continue;
                }
                long before = newest.getOrDefault(block, 0L);
                if (v < before) {
                    violations.add(new Violation(e, block, v, before, newestBy.get(block)));
                } else if (v > before) {
                    newest.put(block, v);
                    newestBy.put(block, e);
                }
            }
        }
        List<String> wrongFinal = new ArrayList<>();
        for (Map.Entry<Long, Long> a : new TreeMap<>(newestAcked).entrySet()) {
            long now = store.versionNow(a.getKey());
            if (now != a.getValue()) {
                wrongFinal.add("block " + a.getKey() + " holds version " + now + ", newest acknowledged " + a.getValue());
            }
        }
        return new Verdict(writes, blocks, violations, corrupt, wrongFinal);
    }
}
