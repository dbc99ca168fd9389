package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code flashvisor demo} (the README's first command) as a user runs it, with shortened durations:
 * the 3-host cluster starts, the side-by-side table is printed, the owner is killed, the holder
 * takes over, fio finds nothing lost on the SAN image, and every process the demo started is gone
 * afterwards — also when it is interrupted with Ctrl-C (SIGINT) half-way.
 */
@Timeout(240)
class DemoTest {
    private static final Pattern PID = Pattern.compile("\\(pid (\\d+)");

    @RegisterExtension
    final TestKit kit = new TestKit();

    @Test
    void theClusterDemoMeasuresKillsAHostAndLosesNothing() throws Exception {
        Tools.require("fio");
        Tools.require("nbdkit");
        FlashvisorProcess demo = kit.flashvisor("flashvisor demo", "demo", "--dir", kit.dir().toString(), "--seconds", "1",
                "--crash-seconds", "2", "--san-size", "128M", "--flash-size", "256M");
        int exit = demo.awaitExit(Duration.ofSeconds(200));
        String out = demo.stdout();
        System.out.println(out);
        assertThat(exit).as("exit code\n" + demo.output()).isZero();

        // The table: both workloads, both paths, the ratio.
        assertThat(out).contains("Results (fio --ioengine=nbd, 1 s per run");
        assertThat(out).contains("4 KiB random write, iodepth 1").contains("4 KiB random 70% read / 30% write (zipf 1.2), iodepth 8");
        assertThat(count(out, "  SAN alone (2ms per I/O)")).isEqualTo(2);
        assertThat(count(out, "  Flashvisor write-back, 1 replica ")).isEqualTo(2);
        assertThat(count(out, "  Flashvisor vs SAN ")).isEqualTo(2);
        // The power cut: the owner died with dirty data, the holder took over, nothing was lost.
        assertThat(out).containsPattern("hv1 killed \\(SIGKILL, pid \\d+\\) with [0-9.]+ MiB dirty");
        assertThat(out).containsPattern("took vm1 over by itself|a holder took vm1 over");
        assertThat(out).contains("vm1 is clean on the SAN");
        assertThat(out).containsPattern("nothing lost: [0-9.]+ MiB acknowledged, 0 verify errors");
        assertThat(out).doesNotContain("FAILED");

        // Everything stopped; the logs stay, the images and sockets are gone.
        assertAllGone(out);
        Path run = runDir();
        for (String log : List.of("hv1.log", "hv2.log", "hv3.log", "san.log", "demo.log", "commands.log", "fio-verify.json")) {
            assertThat(run.resolve(log)).exists();
        }
        try (var files = Files.list(run)) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".img")).toList()).isEmpty();
        }
        assertThat(Files.readString(run.resolve("hv2.log")) + Files.readString(run.resolve("hv3.log"))).contains("took over volume vm1 from hv1");
    }

    /**
     * Negative control: the check is trusted only once it has been seen failing. A planted bug in the
     * demo zeroes part of the SAN image after the takeover; the demo must say DATA LOST and exit 1.
     */
    @Test
    void aLostWriteIsReportedLoudly() throws Exception {
        Tools.require("fio");
        Tools.require("nbdkit");
        FlashvisorProcess demo = kit.flashvisorWithJvmOptions("flashvisor demo (planted loss)", List.of("-Dflashvisor.failpoints=demo-lose-writes"),
                "demo", "--dir", kit.dir().toString(), "--seconds", "1", "--crash-seconds", "2", "--san-size", "64M", "--flash-size", "128M");
        int exit = demo.awaitExit(Duration.ofSeconds(200));
        String out = demo.stdout();
        System.out.println(out + demo.stderr().lines().filter(l -> l.startsWith("flashvisor demo")).findFirst().orElse(""));
        assertThat(exit).as(demo.output()).isEqualTo(1);
        assertThat(out).contains("PLANTED BUG").doesNotContain("nothing lost").contains("FAILED");
        assertThat(demo.stderr()).contains("flashvisor demo: FAILED: DATA LOST: fio --verify_only on the SAN image failed");
        assertAllGone(out);
    }

    @Test
    void ctrlCStopsEverything() throws Exception {
        Tools.require("fio");
        Tools.require("nbdkit");
        FlashvisorProcess demo = kit.flashvisor("flashvisor demo (interrupted)", "demo", "--dir", kit.dir().toString(), "--seconds", "30",
                "--san-size", "64M", "--flash-size", "128M");
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!demo.stdout().contains("[2/5]") && demo.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(demo.stdout()).as(demo.output()).contains("[2/5]");
        Thread.sleep(1500); // fio is running against the SAN now
        Tools.run(Duration.ofSeconds(10), "kill", "-INT", Long.toString(demo.pid())).ok();
        int exit = demo.awaitExit(Duration.ofSeconds(90));
        String out = demo.stdout();
        System.out.println(out);
        assertThat(exit).as(demo.output()).isEqualTo(130);
        assertThat(out).contains("interrupted: stopping").contains("Logs: ");
        assertAllGone(out);
    }

    /** Every process the demo printed a pid of, and every fio and nbdkit it started, has exited. */
    private void assertAllGone(String out) throws Exception {
        List<Long> pids = new ArrayList<>();
        Matcher m = PID.matcher(out);
        while (m.find()) {
            pids.add(Long.parseLong(m.group(1)));
        }
        assertThat(pids).as("the hosts' pids in the output").hasSizeGreaterThanOrEqualTo(3);
        for (long pid : pids) {
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("process " + pid + " still running").isFalse();
        }
        String dir = kit.dir().toString();
        String ps = Tools.run(Duration.ofSeconds(10), "ps", "-eo", "pid,args").ok().stdout();
        assertThat(ps.lines().filter(l -> l.contains(dir)).toList()).as("processes still using " + dir).isEmpty();
        Matcher sock = Pattern.compile("socket=(/tmp/fv-demo-\\d+)/").matcher(out);
        assertThat(sock.find()).as("the sockets' directory in the output").isTrue();
        assertThat(Path.of(sock.group(1))).as("the sockets' directory is removed").doesNotExist();
        Matcher shm = Pattern.compile("file in (/dev/shm/fv-demo-\\S+) ").matcher(out);
        if (shm.find()) {
            assertThat(Path.of(shm.group(1))).as("the flash files in /dev/shm are removed").doesNotExist();
        }
    }

    private Path runDir() throws Exception {
        try (var dirs = Files.list(kit.dir())) {
            return dirs.filter(p -> p.getFileName().toString().startsWith("cluster-")).findFirst().orElseThrow();
        }
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }
}
