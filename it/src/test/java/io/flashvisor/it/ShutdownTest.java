package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Stopping the server while clients write: SIGTERM drains in-flight requests and exits 0, and
 * every write fio saw acknowledged passes fio's own verification through a restarted server;
 * after SIGKILL, every acknowledged write reads back through a restarted server.
 *
 * <p>fio writes sequentially with queue depth {@value #DEPTH}, so when it has seen N blocks
 * acknowledged, all blocks before N - {@value #DEPTH} were acknowledged (at most DEPTH writes are
 * ever outstanding). Those are verified.
 */
@Timeout(240)
class ShutdownTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final long MiB = 1 << 20;
    private static final int DEPTH = 16;
    private static final int BS = 4096;
    private static final long PER_JOB = 64 * MiB;

    @Test
    void sigtermWhileFioWritesDrainsAndExitsZero() throws Exception {
        Path img = kit.file("shutdown.img");
        Tools.sparseFile(img, 2 * PER_JOB);
        Path sock = kit.file("s.sock");
        FlashvisorProcess fv = kit.serve(img.toString(), "--socket", sock.toString(), "--name", "vol");

        Path json = kit.file("write.json");
        Tools.Background writer = kit.background("fio writer", fio(fv.uri(), json, false, PER_JOB, PER_JOB));
        // Let fio get going (its second job has written a few blocks), then give it two more seconds.
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (isZero(Tools.readRange(img, PER_JOB + 8 * BS, BS)) && System.nanoTime() < deadline && writer.isAlive()) {
            Thread.sleep(50);
        }
        Thread.sleep(2000);
        assertThat(writer.isAlive()).as("fio still writing when the server is stopped\n" + writer.output()).isTrue();

        int code = fv.stop(Duration.ofSeconds(45));
        assertThat(code).as("exit code after SIGTERM during writes\n" + fv.output()).isZero();
        // fio's jobs fail now that the server went away. fio 3.33's nbd engine sometimes never exits instead: it loops on
        // "nbd_poll: nothing to poll for in state DEAD" (a libnbd/fio bug, not ours). Then there is no report to check:
        // the test can only say it could not conclude — the server's part (drain, exit 0) was checked above.
        long fioDeadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (writer.isAlive() && System.nanoTime() < fioDeadline) {
            Thread.sleep(100);
        }
        if (writer.isAlive()) {
            writer.process().descendants().forEach(ProcessHandle::destroyForcibly); // fio forks a process per job
            writer.process().destroyForcibly();
            org.junit.jupiter.api.Assumptions.abort("fio 3.33's nbd engine looped after its server closed (known fio bug);"
                    + " no report to verify this run");
        }
        writer.await(Duration.ofSeconds(10)); // fails: its server went away
        JsonNode report = Fio.report(json);
        List<Long> acknowledged = new ArrayList<>();
        for (JsonNode j : report.path("jobs")) {
            acknowledged.add(j.path("write").path("io_bytes").asLong());
        }
        assertThat(acknowledged).as(Fio.summary(report)).hasSize(2);
        assertThat(acknowledged).as("fio wrote something before the stop, but not everything\n" + Fio.summary(report))
                .allSatisfy(b -> assertThat(b).isBetween((long) (DEPTH + 1) * BS, PER_JOB - 1));

        // Restart on the same file and let fio verify what it saw acknowledged.
        FlashvisorProcess again = kit.serve(img.toString(), "--socket", sock.toString(), "--name", "vol");
        long v0 = acknowledged.get(0) - (long) DEPTH * BS;
        long v1 = acknowledged.get(1) - (long) DEPTH * BS;
        Path verifyJson = kit.file("verify.json");
        Tools.Result verify = Tools.run(Duration.ofSeconds(120), fio(again.uri(), verifyJson, true, v0, v1));
        JsonNode vr = Fio.report(verifyJson);
        verify.ok();
        assertThat(vr.path("jobs").get(0).path("read").path("io_bytes").asLong()).as(Fio.summary(vr)).isEqualTo(v0);
        assertThat(vr.path("jobs").get(1).path("read").path("io_bytes").asLong()).as(Fio.summary(vr)).isEqualTo(v1);
        for (JsonNode j : vr.path("jobs")) {
            assertThat(j.path("error").asInt()).as(Fio.summary(vr)).isZero();
        }
        assertThat(again.stop(Duration.ofSeconds(40))).isZero();
    }


    /**
     * SIGKILL mid-write. The writer is the test's own client (4 connections, 64 KiB sequential
     * writes, each acknowledged one recorded): fio 3.33's nbd engine spins forever on a connection
     * reset, so it cannot be the writer here.
     */
    @Test
    void sigkillWhileWritingLosesNoAcknowledgedWrite() throws Exception {
        Path img = kit.file("kill.img");
        Tools.sparseFile(img, 4 * 32 * MiB);
        Path sock = kit.file("k.sock");
        FlashvisorProcess fv = kit.serve(img.toString(), "--socket", sock.toString(), "--name", "vol");

        int writers = 4;
        int block = 64 * 1024;
        long region = 32 * MiB;
        java.util.concurrent.atomic.AtomicLongArray acked = new java.util.concurrent.atomic.AtomicLongArray(writers);
        List<String> unexpected = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(writers);
        java.util.concurrent.atomic.AtomicInteger finished = new java.util.concurrent.atomic.AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < writers; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try (RawNbdClient c = RawNbdClient.unix(sock)) {
                    c.handshake("vol");
                    for (long i = 0; i < region / block; i++) {
                        long off = id * region + i * block;
                        RawNbdClient.SimpleReply r = c.write(off, pattern(off, block));
                        if (r.error() != 0) {
                            unexpected.add("write at " + off + " failed with error " + r.error());
                            return;
                        }
                        acked.set(id, i + 1);
                        if (i == 16) {
                            started.countDown();
                        }
                        Thread.sleep(2); // at least 1 s of work in all: the kill comes in the middle
                    }
                    finished.incrementAndGet();
                } catch (IOException | InterruptedException expected) {
                    // the server was killed
                }
            }, "writer-" + t);
            th.setDaemon(true);
            th.start();
            threads.add(th);
        }
        assertThat(started.await(60, java.util.concurrent.TimeUnit.SECONDS)).as("writers got going").isTrue();
        Thread.sleep(300);
        fv.kill9();
        for (Thread th : threads) {
            th.join(30_000);
            assertThat(th.isAlive()).as(th.getName() + " noticed the server is gone").isFalse();
        }
        assertThat(unexpected).isEmpty();
        assertThat(finished.get()).as("writers that were done before the kill (the kill must hit some mid-write)").isLessThan(writers);

        // Restart on the same file; every acknowledged block reads back exactly.
        FlashvisorProcess again = kit.serve(img.toString(), "--socket", sock.toString(), "--name", "vol");
        long checked = 0;
        try (RawNbdClient c = RawNbdClient.unix(sock)) {
            c.handshake("vol");
            for (int t = 0; t < writers; t++) {
                for (long i = 0; i < acked.get(t); i++) {
                    long off = t * region + i * block;
                    RawNbdClient.SimpleReply r = c.read(off, block);
                    assertThat(r.error()).isZero();
                    if (!java.util.Arrays.equals(r.data(), pattern(off, block))) {
                        throw new AssertionError("acknowledged write at " + off + " (writer " + t + ", block " + i + " of "
                                + acked.get(t) + " acknowledged) is not in the volume after kill -9 and restart");
                    }
                    checked++;
                }
            }
        }
        assertThat(checked).as("acknowledged blocks checked").isGreaterThan(4 * 16);
        System.out.println("kill -9: " + checked + " acknowledged 64 KiB writes verified after restart");
        assertThat(again.stop(Duration.ofSeconds(40))).isZero();
    }

    /** The content of a test block: pseudo-random, seeded by its offset. */
    static byte[] pattern(long offset, int length) {
        byte[] b = new byte[length];
        java.util.SplittableRandom r = new java.util.SplittableRandom(offset * 31 + 7);
        for (int i = 0; i < length; i += 8) {
            long v = r.nextLong();
            for (int j = 0; j < 8; j++) {
                b[i + j] = (byte) (v >>> (8 * j));
            }
        }
        return b;
    }

    private List<String> fio(String uri, Path json, boolean verify, long size0, long size1) {
        List<String> cmd = Fio.command(json, "--rw=write", "--bs=" + BS, "--iodepth=" + DEPTH, "--verify=crc32c", "--ioengine=nbd",
                "--uri=" + uri);
        if (verify) {
            cmd.addAll(List.of("--verify_only", "--verify_fatal=1"));
        } else {
            // Slow enough that the stop surely comes in the middle (~25 s of work if not stopped).
            cmd.addAll(List.of("--do_verify=0", "--rate_iops=600"));
        }
        cmd.addAll(List.of("--name=j0", "--offset=0", "--size=" + size0, "--name=j1", "--offset=" + PER_JOB, "--size=" + size1));
        return cmd;
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }
}
