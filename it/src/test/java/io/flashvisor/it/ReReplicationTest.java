package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Re-replication (issue 4, item 4) with real processes: hosts a, b and c on loopback, ZooKeeper in
 * the test JVM, the SAN a file behind nbdkit's delay filter. a owns {@code vm1} (write-back,
 * {@code replicas: 1}); one of b and c holds its replicas (H), the other holds nothing (T).
 *
 * <ol>
 * <li>fio writes crc32c-headed blocks through a's export; H is killed with SIGKILL mid-run. The
 *     owner keeps serving: the writes that miss H's copy are acknowledged once the volume is clean
 *     on the SAN, H leaves the record's replica set (DEGRADED), and the owner's release loop brings
 *     T in (ACTIVE again, same epoch). a's health goes {@code degraded}, then {@code ok}. A probe
 *     client writes single blocks meanwhile and times their acknowledgements.</li>
 * <li>fio keeps writing after T joined, so that megabytes are dirty on a's flash and on T's replicas
 *     only; fio stops at its trigger and a is killed with SIGKILL. T, named in the record, takes the
 *     volume over, destages and releases the record CLEAN. {@code fio --verify_only} on the SAN file,
 *     and the probe blocks read from it, show that no acknowledged write was lost across a peer
 *     failure, re-replication and an owner failure (I1).</li>
 * </ol>
 *
 * <p>The SAN takes 20 ms a write, not the 2 ms of the other crash tests: once a replica was missed,
 * the owner's destager runs at full speed for good (product behaviour, see
 * {@link #onTheTwoMillisecondSan}), and against a 2 ms SAN no dirty data would be left for T to take
 * over. Printed: the record's states as T saw them, the timings, and a's log lines about it.
 */
@Timeout(180)
class ReReplicationTest {
    private static final long MiB = 1 << 20;
    private static final int BLOCK = 4096;
    /** Probe blocks go to [PROBE_BASE, PROBE_BASE + 16 MiB): no fio job writes there. */
    private static final long PROBE_BASE = 496 * MiB;
    /** Sparse: only what fio and the probe write takes space. */
    private static final long SAN_SIZE = 512 * MiB;

    @RegisterExtension
    @Order(2)
    final TestKit kit = new TestKit();

    @RegisterExtension
    @Order(1)
    final LoopbackCluster cluster = new LoopbackCluster(kit);

    @AfterEach
    void stopFioFirst() {
        CrashChecker.killWriters();
    }

    /**
     * The story on a SAN of 20 ms a write: slow enough that, after the re-replication, dirty data
     * builds up again although the owner's destager then runs at full speed (see below).
     */
    @Test
    void aLostHolderIsReplacedAndTheNewHolderTakesOverWhenTheOwnerDies() throws Exception {
        run("rereplication, SAN 20 ms", "20ms", Duration.ofMillis(1500));
    }

    /**
     * The same story on the 2 ms SAN of the other crash tests. It found that the owner's destager
     * stayed at full speed (draining) for good after the degraded phase, so no dirty data built up
     * again and the owner's death left T nothing to destage; the destager now returns to write-back
     * pacing once no write waits for the backing store.
     */
    @Test
    void onTheTwoMillisecondSan() throws Exception {
        run("rereplication, SAN 2 ms", "2ms", Duration.ofMillis(2000));
    }

    private void run(String label, String wdelay, Duration beforeHKill) throws Exception {
        long testStart = System.nanoTime();
        Path san = kit.file("san.img");
        Tools.sparseFile(san, SAN_SIZE);
        Nbdkit slowSan = kit.slowSan(san, "wdelay=" + wdelay);
        String vm1 = "{name: vm1, backing: \"" + slowSan.uri() + "\", policy: write-back, replicas: 1}";

        LoopbackCluster.Host a = cluster.host("a").volume(vm1);
        LoopbackCluster.Host b = cluster.host("b");
        LoopbackCluster.Host c = cluster.host("c");
        cluster.startAll(b, c);
        a.start();
        JsonNode initial = b.record("vm1");
        assertThat(initial.get("owner").asText()).isEqualTo("hv-a");
        assertThat(initial.get("state").asText()).isEqualTo("ACTIVE");
        assertThat(initial.get("replicaSet")).hasSize(1);
        String holderId = initial.get("replicaSet").get(0).asText();
        assertThat(holderId).isIn("hv-b", "hv-c");
        LoopbackCluster.Host h = holderId.equals("hv-b") ? b : c;
        LoopbackCluster.Host t = h == b ? c : b;
        long epoch = initial.get("epoch").asLong();
        System.out.printf("[" + label + "] %s owns vm1 at epoch %d, holder H=%s, third host T=%s (startup %.1f s)%n", a, epoch, h, t,
                (System.nanoTime() - testStart) / 1e9);

        // Two fio jobs at 6 MiB/s each over 240 MiB regions: a full pass takes 40 s, far longer than the test writes even when
        // the degraded phase is long (fio's rate limit catches up after it: the time counts, not what was written then).
        CrashChecker checker = new CrashChecker(kit, "rereplication", List.of(
                new CrashChecker.Job("rand4k", 0, 240 * MiB, List.of("--rw=randwrite", "--bs=4k")),
                new CrashChecker.Job("randmix", 256 * MiB, 240 * MiB, List.of("--rw=randwrite", "--bsrange=4k-64k"))),
                List.of("--rate=6m"));

        try (Control.Sampler health = a.control.sample("vm1", Duration.ofMillis(50));
             RecordWatch watch = new RecordWatch(t, "vm1");
             StatusWatch destage = new StatusWatch(a.control, "vm1");
             Probe probe = new Probe(kit.file("a-nbd.sock"))) {
            // ---- 1. the holder dies while fio writes ----
            CrashChecker.Writer writer = checker.startWriter(a.uri("vm1"));
            writer.writeFor(beforeHKill);
            JsonNode atHKill = a.control.volume("vm1");
            assertThat(atHKill.path("health").asText()).isEqualTo("ok");
            long hKillWall = System.currentTimeMillis();
            long hKill = System.nanoTime();
            h.process().kill9();
            System.out.println("[" + label + "] killed holder " + h + "; owner's volume just before: " + summary(atHKill));

            // The record: H leaves the set (DEGRADED), then T joins it (ACTIVE), a stays the owner at the same epoch.
            JsonNode joined = t.awaitRecord("vm1", r -> r.get("state").asText().equals("ACTIVE")
                    && r.get("replicaSet").size() == 1 && r.get("replicaSet").get(0).asText().equals(t.hostId), Duration.ofSeconds(45));
            long tJoined = System.nanoTime();
            // fio stayed alive through it all: its writes were acknowledged (an error would have ended it).
            writer.writeFor(Duration.ofMillis(100));
            assertThat(joined.get("owner").asText()).as("a still owns vm1: " + joined).isEqualTo("hv-a");
            assertThat(joined.get("epoch").asLong()).as("re-replication keeps the epoch: " + joined).isEqualTo(epoch);

            String aLog = a.process().stderr();
            long leftLog = logMillis(aLog, "missed a write and left the replica set; running degraded");
            long setShrunkLog = logMillis(aLog, "replica set now \\[\\] \\(a peer failed a write\\)");
            long joinedLog = logMillis(aLog, "host " + Pattern.quote(t.hostId) + " joined the replica set, now \\[" + Pattern.quote(t.hostId) + "\\]");
            long peerJoinedLog = logMillis(aLog, "replica peer \\S+ joined; copies are complete again for new writes");
            assertThat(leftLog).as("a logs that H left the replica set\n" + a.process().output()).isPositive();
            assertThat(setShrunkLog).as("a's VolumeOwnership logs the smaller set\n" + a.process().output()).isPositive();
            assertThat(joinedLog).as("a logs that T joined the replica set\n" + a.process().output()).isPositive();
            assertThat(peerJoinedLog).as("a's volume logs the new peer\n" + a.process().output()).isPositive();
            assertThat(setShrunkLog).isLessThanOrEqualTo(joinedLog);
            assertThat(aLog).as("re-replication did not pick the dead holder").doesNotContain("host " + h.hostId + " joined the replica set");

            List<RecordWatch.Seen> seen = watch.seen();
            RecordWatch.Seen firstWithoutH = seen.stream().filter(s -> !s.set().contains(h.hostId)).findFirst().orElseThrow();
            RecordWatch.Seen firstWithT = seen.stream().filter(s -> s.set().contains(t.hostId)).findFirst().orElseThrow();
            System.out.println("[" + label + "] record states seen on " + t + " (ms after H's kill): " + watch.describe(hKill));
            for (RecordWatch.Seen s : seen) {
                assertThat(s.owner()).as("a owns vm1 throughout: " + s).isEqualTo("hv-a");
                assertThat(s.epoch()).as("one epoch throughout: " + s).isEqualTo(epoch);
                assertThat(s.set().size()).as("never more peers than promised: " + s).isLessThanOrEqualTo(1);
                assertThat(s.state()).as("ACTIVE only with a full set, DEGRADED only without: " + s)
                        .isEqualTo(s.set().isEmpty() ? "DEGRADED" : "ACTIVE");
            }
            assertThat(seen.indexOf(firstWithoutH)).as("H left before T joined: " + seen).isLessThanOrEqualTo(seen.indexOf(firstWithT));

            // a's health: degraded once H was gone, ok again once T joined.
            writer.writeFor(Duration.ofMillis(300));
            JsonNode afterJoin = a.control.volume("vm1");
            assertThat(afterJoin.path("health").asText()).as("a is healthy again: " + summary(afterJoin)).isEqualTo("ok");
            List<String> transitions = health.transitions();
            int degradedAt = indexOf(transitions, "degraded/", 0);
            assertThat(degradedAt).as("a's health went degraded: " + health).isNotNegative();
            assertThat(indexOf(transitions, "ok/", degradedAt)).as("and then ok again: " + health).isPositive();

            // The probe's writes while degraded were acknowledged (slowly: each waited for the SAN). One that was waiting at
            // H's kill counts too: it missed H's copy and was acknowledged once the volume was clean.
            List<Probe.Write> probes = probe.writes();
            List<Probe.Write> duringDegraded = probes.stream().filter(p -> p.acked() > hKill && p.issued() < tJoined).toList();
            assertThat(probes).as("the probe's writes all acknowledged: " + probes.stream().filter(p -> p.error() != 0).toList())
                    .allMatch(p -> p.error() == 0);
            assertThat(duringDegraded).as("probe writes pending between H's kill and T's join").isNotEmpty();
            double maxDegradedMs = duringDegraded.stream().mapToLong(p -> p.acked() - p.issued()).max().orElse(0) / 1e6;
            double maxBeforeMs = probes.stream().filter(p -> p.acked() < hKill).mapToLong(p -> p.acked() - p.issued()).max().orElse(0) / 1e6;
            System.out.printf("[" + label + "] H killed -> H left the set: %.2f s (record poll), %.2f s (a's log); -> T joined:"
                            + " %.2f s (record poll), %.2f s (a's log); health %s; probe writes pending between H's kill and"
                            + " T's join, all acknowledged: %d, slowest %.0f ms (before the kill: slowest %.0f ms)%n",
                    (firstWithoutH.at() - hKill) / 1e9, (setShrunkLog - hKillWall) / 1e3, (firstWithT.at() - hKill) / 1e9,
                    (joinedLog - hKillWall) / 1e3, transitions, duringDegraded.size(), maxDegradedMs, maxBeforeMs);

            System.out.println("[" + label + "] owner 0.4 s after T joined: " + summary(afterJoin));
            System.out.println("[" + label + "] a's status from H's kill to T's join (ms after H's kill): " + destage.describe(hKill, hKill, tJoined));
            System.out.printf("[%s] a's log: %d x 'replica set now [] (a peer failed a write)', %d x 'missed a write and left the"
                            + " replica set', %d x 'no new replica peer'/'cannot be used'%s%n", label,
                    count(aLog, "replica set now [] (a peer failed a write)"), count(aLog, "missed a write and left the replica set"),
                    count(aLog, "no new replica peer") + count(aLog, "cannot be used"),
                    aLog.lines().filter(l -> l.contains("cannot be used") || l.contains("no new replica peer")).findFirst()
                            .map(l -> "; first: " + l).orElse(""));

            // ---- 2. dirty data replicated only to T; then the owner dies ----
            writer.writeUntilDirty(Duration.ofMillis(2000), () -> a.control.volume("vm1").path("dirtyBytes").asLong(), 4 * MiB,
                    Duration.ofSeconds(6));
            probe.close(); // no client may be connected to a server that dies (and the probe's writes are complete)
            writer.stopAtTrigger();
            JsonNode atAKill = a.control.volume("vm1");
            JsonNode recordAtAKill = t.record("vm1");
            long aKill = System.nanoTime();
            a.process().kill9();
            System.out.println("[" + label + "] killed owner " + a + "; its volume just before: " + summary(atAKill)
                    + "; record " + recordAtAKill);
            assertThat(atAKill.path("health").asText()).isEqualTo("ok");
            assertThat(recordAtAKill.get("replicaSet").toString()).isEqualTo("[\"" + t.hostId + "\"]");
            assertThat(atAKill.path("dirtyBytes").asLong()).as("acknowledged data on a and T only at the kill (more than fio has in flight)")
                    .isGreaterThan(2 * MiB);

            JsonNode after = t.awaitRecord("vm1", LoopbackCluster::releasedClean, Duration.ofSeconds(60));
            double toClean = (System.nanoTime() - aKill) / 1e9;
            LoopbackCluster.TakeoverLog took = t.takeoverLog("vm1");
            assertThat(took).as("T's log reports its takeover\n" + t.process().output()).isNotNull();
            assertThat(took.from()).isEqualTo("hv-a");
            assertThat(took.released()).isTrue();
            assertThat(took.epoch()).as("T took over at the next epoch").isEqualTo(epoch + 1);
            assertThat(after.get("epoch").asLong()).isEqualTo(took.epoch() + 1);
            assertThat(took.blocksDestaged() * BLOCK).as("T held (at least) every block dirty on a: its writes since T joined")
                    .isGreaterThanOrEqualTo(atAKill.path("dirtyBytes").asLong());
            System.out.printf("[" + label + "] owner %s killed with %,d dirty bytes; %s took over at epoch %d: %,d blocks destaged in"
                            + " %.3f s; record CLEAN %.2f s after the kill%n", a, atAKill.path("dirtyBytes").asLong(), t, took.epoch(),
                    took.blocksDestaged(), took.seconds(), toClean);

            CrashChecker.Verdict verdict = checker.verifyOnlyFile(san);
            System.out.println("[" + label + "] SAN after the takeover: " + verdict.summary());
            assertThat(verdict.clean()).as("every acknowledged write is on the SAN\n" + verdict).isTrue();
            List<String> wrong = probe.checkOn(san);
            System.out.printf("[" + label + "] %d probe blocks read back from the SAN, %d wrong%n", probe.writes().size(), wrong.size());
            assertThat(wrong).as("every acknowledged probe write is on the SAN").isEmpty();
        }
        t.stop();
        System.out.printf("[" + label + "] test body %.1f s%n", (System.nanoTime() - testStart) / 1e9);
    }

    private static String summary(JsonNode v) {
        return Control.summary(v) + " destageWritesInFlight=" + v.path("destageWritesInFlight").asInt();
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + what.length())) {
            n++;
        }
        return n;
    }

    private static int indexOf(List<String> transitions, String prefix, int from) {
        for (int i = from; i < transitions.size(); i++) {
            if (transitions.get(i).startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }

    /** The wall-clock time (ms) of the first log line matching {@code regex}, or -1. */
    private static long logMillis(String log, String regex) {
        Matcher m = Pattern.compile("^(\\S+) .*" + regex, Pattern.MULTILINE).matcher(log);
        return m.find() ? OffsetDateTime.parse(m.group(1)).toInstant().toEpochMilli() : -1;
    }

    /**
     * Samples a volume's status every 100 ms and keeps each sample where its health or the destager's
     * writes in flight changed, or the destager made progress and the volume became clean or dirty.
     */
    static final class StatusWatch implements AutoCloseable {
        record Seen(long at, String health, int inFlight, long destaged, long dirty) {
        }

        private final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());
        private final Thread thread;
        private volatile boolean running = true;

        StatusWatch(Control control, String volume) {
            thread = new Thread(() -> {
                while (running) {
                    try {
                        for (JsonNode v : control.callRaw("status").path("volumes")) {
                            if (v.path("name").asText().equals(volume)) {
                                Seen s = new Seen(System.nanoTime(), v.path("health").asText(), v.path("destageWritesInFlight").asInt(),
                                        v.path("destagedBytes").asLong(), v.path("dirtyBytes").asLong());
                                synchronized (seen) {
                                    Seen last = seen.isEmpty() ? null : seen.get(seen.size() - 1);
                                    if (last == null || !last.health().equals(s.health()) || last.inFlight() != s.inFlight()
                                            || (s.destaged() != last.destaged() && (s.dirty() == 0) != (last.dirty() == 0))) {
                                        seen.add(s);
                                    }
                                }
                            }
                        }
                    } catch (AssertionError | RuntimeException e) {
                        // the node is going: the test decides what that means
                    }
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "status-watch-" + volume);
            thread.setDaemon(true);
            thread.start();
        }

        /** The changes seen between {@code from} and {@code to} (and the last one before {@code from}), times relative to {@code zero}. */
        String describe(long zero, long from, long to) {
            List<Seen> all;
            synchronized (seen) {
                all = new ArrayList<>(seen);
            }
            StringBuilder sb = new StringBuilder();
            Seen before = null;
            for (Seen s : all) {
                if (s.at() < from) {
                    before = s;
                    continue;
                }
                if (before != null) {
                    sb.append(line(before, zero));
                    before = null;
                }
                if (s.at() <= to) {
                    sb.append(line(s, zero));
                }
            }
            return sb.toString();
        }

        private static String line(Seen s, long zero) {
            return String.format("%n    %+7d ms  %s in-flight=%d destaged=%,d dirty=%,d", (s.at() - zero) / 1_000_000, s.health(),
                    s.inFlight(), s.destaged(), s.dirty());
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.interrupt();
            thread.join(5000);
        }
    }

    /** Polls a host's view of a volume record every 20 ms and keeps each distinct (owner, epoch, state, set) with when it was first seen. */
    static final class RecordWatch implements AutoCloseable {
        record Seen(long at, String owner, long epoch, String state, List<String> set) {
        }

        private final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());
        private final Thread thread;
        private volatile boolean running = true;

        RecordWatch(LoopbackCluster.Host host, String volume) {
            thread = new Thread(() -> {
                while (running) {
                    try {
                        JsonNode r = host.record(volume);
                        List<String> set = new ArrayList<>();
                        r.get("replicaSet").forEach(x -> set.add(x.asText()));
                        Seen s = new Seen(System.nanoTime(), r.get("owner").isNull() ? null : r.get("owner").asText(),
                                r.get("epoch").asLong(), r.get("state").asText(), List.copyOf(set));
                        synchronized (seen) {
                            Seen last = seen.isEmpty() ? null : seen.get(seen.size() - 1);
                            if (last == null || !(java.util.Objects.equals(last.owner(), s.owner()) && last.epoch() == s.epoch()
                                    && last.state().equals(s.state()) && last.set().equals(s.set()))) {
                                seen.add(s);
                            }
                        }
                    } catch (AssertionError | RuntimeException e) {
                        // the host is busy or going: keep polling
                    }
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "record-watch-" + volume);
            thread.setDaemon(true);
            thread.start();
        }

        List<Seen> seen() {
            synchronized (seen) {
                return new ArrayList<>(seen);
            }
        }

        String describe(long zero) {
            StringBuilder sb = new StringBuilder();
            for (Seen s : seen()) {
                sb.append(String.format("%n    %+7d ms  owner=%s epoch=%d %s %s", (s.at() - zero) / 1_000_000, s.owner(), s.epoch(),
                        s.state(), s.set()));
            }
            return sb.toString();
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.interrupt();
            thread.join(5000);
        }
    }

    /**
     * An NBD client of its own on the owner's export: writes one 4 KiB block at a time (distinct
     * blocks, in random order: no sequential bypass), every 20 ms, and records when each was issued
     * and acknowledged. Every acknowledged block must later be on the SAN.
     */
    static final class Probe implements AutoCloseable {
        record Write(int index, long offset, long issued, long acked, int error) {
        }

        private final List<Write> writes = Collections.synchronizedList(new ArrayList<>());
        private final Thread thread;
        private volatile boolean running = true;
        private volatile Throwable failure;

        Probe(Path socket) {
            int slots = (int) (16 * MiB / BLOCK);
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < slots; i++) {
                order.add(i);
            }
            Collections.shuffle(order, new java.util.Random(4));
            thread = new Thread(() -> {
                try (RawNbdClient client = RawNbdClient.unix(socket).timeout(Duration.ofSeconds(60))) {
                    client.handshake("vm1");
                    for (int i = 0; running && i < slots; i++) {
                        long offset = PROBE_BASE + (long) order.get(i) * BLOCK;
                        long issued = System.nanoTime();
                        RawNbdClient.SimpleReply r = client.write(offset, content(i, offset));
                        writes.add(new Write(i, offset, issued, System.nanoTime(), r.error()));
                        Thread.sleep(20);
                    }
                } catch (Throwable e) {
                    failure = e;
                }
            }, "probe-writer");
            thread.setDaemon(true);
            thread.start();
        }

        static byte[] content(int index, long offset) {
            byte[] b = new byte[BLOCK];
            new SplittableRandom(offset * 31 + index).nextBytes(b);
            ByteBuffer.wrap(b).putLong(0, 0x5052_4f42_4521L).putLong(8, offset).putInt(16, index);
            return b;
        }

        List<Write> writes() {
            assertThat(failure).as("the probe client failed").isNull();
            synchronized (writes) {
                return new ArrayList<>(writes);
            }
        }

        /** The acknowledged probe blocks that the file does not hold (a description of each). */
        List<String> checkOn(Path file) throws java.io.IOException {
            List<String> wrong = new ArrayList<>();
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
                byte[] got = new byte[BLOCK];
                for (Write w : writes()) {
                    if (w.error() != 0) {
                        continue;
                    }
                    raf.seek(w.offset());
                    raf.readFully(got);
                    if (!Arrays.equals(got, content(w.index(), w.offset()))) {
                        wrong.add("probe write " + w.index() + " at " + w.offset() + " (first bytes " + ByteBuffer.wrap(got).getLong(0) + ")");
                    }
                }
            }
            return wrong;
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(70_000);
            assertThat(thread.isAlive()).as("the probe's last write did not end").isFalse();
        }
    }
}
