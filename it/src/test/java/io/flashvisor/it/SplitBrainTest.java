package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.flashvisor.common.Failpoints;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Split brain (issue 4, I2 and I4): the owner of a write-back volume is frozen (SIGSTOP) for longer
 * than its ZooKeeper session timeout while it still has dirty data, its replica holder takes the
 * volume over and destages it, the VM "restarts" on a third host which writes newer versions of the
 * same blocks to the backing store — and then the old owner is resumed (SIGCONT), its dirty data now
 * stale. The backing store is a {@link RecordingStore}: it logs every write it applies, and each
 * 4 KiB block carries its version ({@link VersionedBlocks}), so the checker can tell whether a block
 * ever went back to an older version, and whether the store ends with the newest acknowledged one.
 *
 * <p>Three node processes: A (owner, then frozen), B (replica holder, runs the embedded ZooKeeper,
 * takes over by itself), C (serves the volume after the takeover, with B as its replica). Session
 * timeout 2 s. Hosts A and C name the same in-memory disk by two export names ({@code vm1},
 * {@code vm1-c}), so the log tells who wrote: the volume record carries A's URI, which B's takeover
 * uses too, but B's takeover has finished before A is resumed, so after SIGCONT only A writes via
 * {@code vm1}.
 *
 * <p>The negative control plants {@link Failpoints#DESTAGE_WITHOUT_FENCE} in A: its destager skips
 * the lease check, so once resumed it writes its stale data over C's newer data — and the checker
 * must say so.
 */
@Timeout(180)
class SplitBrainTest {
    private static final long MiB = 1 << 20;
    /** The blocks the test writes (1 MiB), each many times: every other block of the first 2 MiB, so that a destage
     *  batch is many one-block writes (neighbours would coalesce into a few large ones). */
    private static final int BLOCKS = 256;
    private static final int STRIDE = 2;
    /** What A must still have to destage when it is frozen, or the story tests nothing: 32 blocks. */
    private static final long MIN_DIRTY_AT_STOP = 32 * 4096L;
    private static final Duration SAN_WRITE_DELAY = Duration.ofMillis(3);

    @RegisterExtension
    final TestKit kit = new TestKit();

    /**
     * The resumed owner must write nothing to the backing store — neither the rest of a destage batch it was in the
     * middle of when it froze, nor later batches, nor on its graceful stop — and acknowledge nothing; the checker
     * must pass.
     */
    @Test
    void aResumedStaleOwnerNeverWritesAnOlderVersionOverANewerOne() throws Exception {
        Outcome o = scenario(List.of());
        assertThat(o.lateWrite).as("a write sent to the resumed stale owner is not acknowledged").isNegative();
        assertThat(o.aWritesAfterResume).as("writes the resumed stale owner made to the backing store").isEmpty();
        assertThat(o.aWritesWhileStopping).as("writes the stale owner made while stopping gracefully").isEmpty();
        assertThat(o.verdict.clean()).as("checker: " + o.verdict).isTrue();
    }

    /** The same story with the planted bug in A: the checker must catch the stale overwrite. */
    @Test
    void negativeControlADestagerWithoutTheFenceOverwritesNewerDataAndTheCheckerCatchesIt() throws Exception {
        Outcome o = scenario(List.of("-Dflashvisor.failpoints=" + Failpoints.DESTAGE_WITHOUT_FENCE));
        assertThat(o.aStderr).contains("failpoint").contains(Failpoints.DESTAGE_WITHOUT_FENCE);
        assertThat(o.lateWrite).as("acknowledgements are fenced on their own (not by the destager)").isNegative();
        assertThat(o.aWritesAfterResume).as("the planted bug makes the resumed owner destage").isNotEmpty();
        assertThat(o.verdict.clean()).as("the checker must fail on the planted bug").isFalse();
        assertThat(o.verdict.violations()).as("stale overwrites").isNotEmpty();
        assertThat(o.verdict.corrupt()).isEmpty();
        // Each violation is what we expect: the resumed owner (export vm1, after SIGCONT) writing a version it was
        // given before the freeze over a newer version that C wrote (export vm1-c).
        for (VersionedBlocks.Violation v : o.verdict.violations()) {
            assertThat(v.write().export()).as(v.toString()).isEqualTo("vm1");
            assertThat(v.write().seq()).as(v.toString()).isGreaterThanOrEqualTo(o.resumeMark);
            assertThat(v.version()).as(v.toString()).isLessThanOrEqualTo(o.lastVersionOnA);
            assertThat(v.newer()).as(v.toString()).isGreaterThan(o.lastVersionOnA);
            assertThat(v.newerWrite().export()).as(v.toString()).isEqualTo("vm1-c");
        }
        assertThat(o.verdict.wrongFinal()).as("blocks left at a stale version").isNotEmpty();
    }

    /** What one run saw, for the assertions. */
    private record Outcome(VersionedBlocks.Verdict verdict, List<RecordingStore.Entry> aWritesAfterResume,
                           List<RecordingStore.Entry> aWritesWhileStopping, long lateWrite, int resumeMark, long lastVersionOnA,
                           String aStderr) {
    }

    private Outcome scenario(List<String> aJvmOptions) throws Exception {
        long t0 = System.nanoTime();
        Path secret = kit.file("cluster.secret");
        Files.writeString(secret, Base64.getEncoder().encodeToString("split brain test cluster secret!".getBytes()) + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        int zkPort;
        try (ServerSocket s = new ServerSocket(0)) {
            zkPort = s.getLocalPort();
        }
        Tools.sparseFile(kit.file("scratch.img"), 16 * MiB);
        Random random = new Random(42);
        VersionedBlocks.Writer writer = new VersionedBlocks.Writer();

        try (RecordingStore san = new RecordingStore(kit.file("san.sock"), 16 * MiB, SAN_WRITE_DELAY, "vm1", "vm1-c")) {
            // B first: it runs ZooKeeper, and it must be live when A places its replica.
            Path ctlB = kit.file("b-ctl.sock");
            FlashvisorProcess b = kit.node(config("b", "embedded-zookeeper: {dir: " + kit.file("zk") + ", port: " + zkPort + "}", secret, ctlB,
                    "  - {name: scratch, backing: " + kit.file("scratch.img") + "}\n"), 1);
            Path ctlA = kit.file("a-ctl.sock");
            FlashvisorProcess a = kit.node(config("a", "zookeeper: 127.0.0.1:" + zkPort, secret, ctlA,
                    "  - {name: vm1, backing: \"" + san.uri("vm1") + "\", policy: write-back, replicas: 1}\n"), 1, aJvmOptions);
            Control controlA = new Control(ctlA);
            Control controlB = new Control(ctlB);
            JsonNode first = controlB.record("vm1");
            assertThat(first.get("owner").asText()).isEqualTo("hv-a");
            assertThat(first.get("replicaSet").get(0).asText()).isEqualTo("hv-b");
            long epochA = first.get("epoch").asLong();

            // 1. The VM writes on A: every block in each round (16 writes in flight), a FLUSH after each round; all
            //    acknowledged. At least 4 rounds, and more until A is left with dirty data after one (the slow SAN lags).
            RawNbdClient vmOnA = RawNbdClient.unix(FlashvisorProcess.socketOf(a.uri())).timeout(Duration.ofSeconds(30));
            vmOnA.handshake("vm1");
            JsonNode atStop = null;
            for (int round = 0; round < 4 || atStop.path("dirtyBytes").asLong() < MIN_DIRTY_AT_STOP && round < 12; round++) {
                assertThat(writer.writeAll(vmOnA, shuffled(random), 16)).as("writes to A acknowledged").isEqualTo(BLOCKS);
                assertThat(vmOnA.flush().error()).isZero();
                atStop = controlA.volume("vm1");
            }
            long lastVersionOnA = writer.lastVersion();

            // 2. Freeze A while its destager still has work (the SAN is slow).
            int stopMark = san.mark();
            long stopAt = san.now();
            signal(a.pid(), "STOP");
            int resumeMark;
            long resumeAt;
            try {
                assertThat(processState(a.pid())).as("A is stopped").isEqualTo('T');
                long dirtyAtStop = atStop.path("dirtyBytes").asLong();
                System.out.printf("[split-brain] %d writes acknowledged by A (versions 1..%d over %d blocks); A frozen at %d ms with %s%n",
                        writer.ackedWrites(), lastVersionOnA, BLOCKS, stopAt / 1_000_000, Control.summary(atStop));
                assertThat(dirtyAtStop).as("A has dirty data when frozen").isGreaterThanOrEqualTo(MIN_DIRTY_AT_STOP);

                // 3. B takes the volume over by itself once A's session (2 s) has expired, destages, and releases it clean.
                JsonNode taken = await(Duration.ofSeconds(40), "B takes vm1 over and releases it clean", () -> {
                    JsonNode r = controlB.record("vm1");
                    return r.get("owner").isNull() && r.get("state").asText().equals("CLEAN") && r.get("epoch").asLong() > epochA;
                }, () -> controlB.record("vm1"));
                long takenAt = san.now();
                int takeoverMark = san.mark();
                assertThat(b.stderr()).contains("took over volume vm1 from hv-a");
                List<RecordingStore.Entry> stopWindow = writes(san.since(stopMark).subList(0, takeoverMark - stopMark), "vm1");
                System.out.printf("[split-brain] B took over and released vm1 clean (%s) at %d ms, %.1f s after the freeze; %d writes"
                                + " via vm1 meanwhile (%d of them in the first 500 ms: A's requests already on their way)%n", taken,
                        takenAt / 1_000_000, (takenAt - stopAt) / 1e9, stopWindow.size(),
                        stopWindow.stream().filter(e -> e.atNanos() - stopAt < 500_000_000L).count());
                VersionedBlocks.Verdict afterTakeover = VersionedBlocks.check(san, writer.acked());
                System.out.println("[split-brain] SAN after the takeover: " + afterTakeover.summary());
                assertThat(afterTakeover.clean()).as("every write A acknowledged is on the SAN after the takeover\n" + afterTakeover).isTrue();

                // 4. The VM restarts on C (replica on B) and writes newer versions of every block, which reach the SAN.
                Path ctlC = kit.file("c-ctl.sock");
                FlashvisorProcess c = kit.node(config("c", "zookeeper: 127.0.0.1:" + zkPort, secret, ctlC,
                        "  - {name: vm1, backing: \"" + san.uri("vm1-c") + "\", policy: write-back, replicas: 1}\n"), 1);
                Control controlC = new Control(ctlC);
                JsonNode onC = controlB.record("vm1");
                assertThat(onC.get("owner").asText()).isEqualTo("hv-c");
                try (RawNbdClient vmOnC = RawNbdClient.unix(FlashvisorProcess.socketOf(c.uri())).timeout(Duration.ofSeconds(30))) {
                    vmOnC.handshake("vm1");
                    for (int round = 0; round < 2; round++) {
                        assertThat(writer.writeAll(vmOnC, shuffled(random), 16)).as("writes to C acknowledged").isEqualTo(BLOCKS);
                    }
                    assertThat(vmOnC.flush().error()).isZero();
                }
                JsonNode drained = controlC.drain("vm1", Duration.ofSeconds(60));
                assertThat(drained.get("clean").asBoolean()).as("C destaged everything: " + drained).isTrue();
                VersionedBlocks.Verdict beforeResume = VersionedBlocks.check(san, writer.acked());
                System.out.printf("[split-brain] C (epoch %d) wrote versions %d..%d, all on the SAN at %d ms: %s%n",
                        onC.get("epoch").asLong(), lastVersionOnA + 1, writer.lastVersion(), san.now() / 1_000_000, beforeResume.summary());
                assertThat(beforeResume.clean()).as("before A resumes\n" + beforeResume).isTrue();
            } finally {
                // 5. A wakes up, its dirty data now stale. The mark is taken while A is still frozen: taken after the
                // signal, a write A made at once could fall before it (seen once in CI, in the negative control).
                resumeMark = san.mark();
                resumeAt = san.now();
                signal(a.pid(), "CONT");
            }
            System.out.printf("[split-brain] A resumed at %d ms, frozen for %.1f s%n", resumeAt / 1_000_000, (resumeAt - stopAt) / 1e9);

            // The VM's old connection to A is still open: a write sent there now must not be acknowledged. (A read is
            // only reported: what a zombie VM on the fenced host would see.)
            long lateWrite = writer.write(vmOnA, 0);
            System.out.println("[split-brain] a write sent to A after it resumed: " + (lateWrite < 0 ? "refused" : "ACKNOWLEDGED"));
            RawNbdClient.SimpleReply lateRead = vmOnA.read(STRIDE * 4096L, 4096);
            System.out.println("[split-brain] a read of block " + STRIDE + " from A after it resumed: " + (lateRead.error() != 0
                    ? "error " + lateRead.error() : "version " + VersionedBlocks.versionOf(lateRead.data(), 0, STRIDE)
                    + " (newest acknowledged " + writer.acked().get((long) STRIDE) + ")"));
            vmOnA.close();

            // Give A time to catch up: its cluster client learns that its session is gone and registers anew; then wait
            // until the SAN has had nothing for 3 s (a destager that ignored the fence would be writing).
            await(Duration.ofSeconds(40), "A is registered again in a new session", () -> {
                for (JsonNode h : controlB.call("hosts").get("hosts")) {
                    if (h.get("hostId").asText().equals("hv-a")) {
                        return true;
                    }
                }
                return false;
            }, () -> controlB.call("hosts"));
            long registeredAt = san.now();
            assertThat(san.awaitQuiet(Duration.ofSeconds(3), Duration.ofSeconds(60))).as("the SAN gets quiet").isTrue();
            JsonNode aAfter = controlA.volume("vm1");
            List<RecordingStore.Entry> afterResume = writes(san.since(resumeMark), "vm1");
            System.out.printf("[split-brain] A registered again at %d ms (%.1f s after SIGCONT); A now %s; %d writes via vm1 (%d blocks)"
                            + " since SIGCONT%s%n", registeredAt / 1_000_000, (registeredAt - resumeAt) / 1e9, Control.summary(aAfter),
                    afterResume.size(), afterResume.stream().mapToLong(e -> e.versions().length).sum(), afterResume.isEmpty() ? ""
                            : ", the first at +" + (afterResume.getFirst().atNanos() - resumeAt) / 1_000_000 + " ms, the last at +"
                            + (afterResume.getLast().atNanos() - resumeAt) / 1_000_000 + " ms");

            // 6. A stops gracefully: it may not destage on the way out either.
            int stoppingMark = san.mark();
            int exit = a.stop(Duration.ofSeconds(60));
            List<RecordingStore.Entry> whileStopping = writes(san.since(stoppingMark), "vm1");
            System.out.printf("[split-brain] A stopped (exit %d); %d writes via vm1 while it stopped%n", exit, whileStopping.size());
            String aStderr = a.stderr();
            List<String> aLines = aStderr.lines().filter(l -> l.matches("(?i).*(destag|lease|session|fenc|stale|vm1|failpoint).*")).toList();
            System.out.println("[split-brain] A's log, last destage/lease/session/volume lines:");
            aLines.subList(Math.max(0, aLines.size() - 25), aLines.size()).forEach(l -> System.out.println("    A| " + l));

            VersionedBlocks.Verdict verdict = VersionedBlocks.check(san, writer.acked());
            System.out.printf("[split-brain] checker: %s%n[split-brain] %d writes acknowledged, %d refused; SAN log %d entries; %.1f s%n",
                    verdict, writer.ackedWrites(), writer.refusedWrites(), san.mark(), (System.nanoTime() - t0) / 1e9);
            return new Outcome(verdict, afterResume, whileStopping, lateWrite, resumeMark, lastVersionOnA, aStderr);
        }
    }

    private static List<Long> shuffled(Random random) {
        List<Long> blocks = new ArrayList<>();
        for (long i = 0; i < BLOCKS; i++) {
            blocks.add(i * STRIDE);
        }
        Collections.shuffle(blocks, random);
        return blocks;
    }

    private static List<RecordingStore.Entry> writes(List<RecordingStore.Entry> entries, String export) {
        return entries.stream().filter(e -> e.isWrite() && e.export().equals(export)).toList();
    }

    private static void signal(long pid, String signal) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("kill -" + signal + " " + pid + ": " + out).isZero();
    }

    /** The state letter of /proc/PID/stat (R, S, T for stopped, ...). */
    private static char processState(long pid) throws IOException, InterruptedException {
        for (int i = 0; i < 100; i++) {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            if (state == 'T') {
                return state;
            }
            Thread.sleep(10);
        }
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return stat.charAt(stat.lastIndexOf(')') + 2);
    }

    private static JsonNode await(Duration timeout, String what, BooleanSupplier done, java.util.function.Supplier<Object> describe)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout + ": " + what + "; now " + describe.get());
            }
            Thread.sleep(100);
        }
        Object d = describe.get();
        return d instanceof JsonNode j ? j : null;
    }

    private String config(String host, String zookeeper, Path secret, Path ctl, String volumes) {
        return """
                listeners: [{unix: %1$s}]
                control: %2$s
                flash: {device: %3$s, size: 64M}
                nbd: {drain-timeout: 3s}
                cluster:
                  name: it
                  host-id: hv-%4$s
                  %5$s
                  session-timeout: 2s
                  peer-listen: 127.0.0.1:0
                  secret-file: %6$s
                volumes:
                %7$s""".formatted(kit.file(host + "-nbd.sock"), ctl, kit.file(host + "-flash.img"), host, zookeeper, secret, volumes);
    }
}
