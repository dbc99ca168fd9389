package io.flashvisor.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.node.ConfigLoader;
import io.flashvisor.node.NodeSettings;
import io.flashvisor.node.Policy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cluster demo's pure parts: the hosts' configuration (checked by the node's own loader), fio's report, the table. */
class ClusterDemoTest {
    @TempDir
    Path dir;

    @Test
    void theHostConfigurationsAreValidNodeConfigurations() throws Exception {
        Path secret = dir.resolve("cluster.secret");
        Files.writeString(secret, Base64.getEncoder().encodeToString(new byte[32]) + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        String yaml = ClusterDemo.nodeConfig("hv1", "rack-1", "127.0.0.1:2181", dir.resolve("hv1-nbd.sock"), dir.resolve("hv1.ctl"),
                dir.resolve("hv1-flash.img"), 512L << 20, "2s", secret,
                "  - {name: vm1, backing: \"nbd+unix:///?socket=/tmp/x/san.sock\", policy: write-back, replicas: 1, description: \"the demo VM's disk\"}\n");
        NodeSettings s = ConfigLoader.parse(yaml, "hv1.yaml", dir);
        assertThat(s.cluster().hostId()).isEqualTo("hv1");
        assertThat(s.cluster().faultDomain()).isEqualTo("rack-1");
        assertThat(s.cluster().autoTakeover()).isTrue();
        assertThat(s.cluster().sessionTimeout()).hasSeconds(2);
        assertThat(s.cluster().replicas()).containsEntry("vm1", 1);
        assertThat(s.volumes()).singleElement().satisfies(v -> {
            assertThat(v.name()).isEqualTo("vm1");
            assertThat(v.policy()).isEqualTo(Policy.WRITE_BACK);
        });
        assertThat(s.flash().size()).isEqualTo(512L << 20);
    }

    @Test
    void fioReportsAreReadPerDirection() throws Exception {
        Path json = dir.resolve("fio.json");
        Files.writeString(json, """
                note: both iodepth >= 1 and synchronous I/O engine are selected, queue depth will be capped at 1
                {"jobs": [{"jobname": "demo", "error": 0,
                  "write": {"iops": 4321.5, "total_ios": 43215, "io_bytes": 177008640,
                            "clat_ns": {"percentile": {"50.000000": 201728, "99.000000": 1531904}}},
                  "mixed": {"iops": 10.0, "total_ios": 1, "io_bytes": 4096, "clat_ns": {"percentile": {"50.000000": 1000, "99.000000": 2000}}}}]}
                """);
        FioResult w = FioResult.parse(FioResult.read(json), "write");
        assertThat(w.iops()).isEqualTo(4321.5);
        assertThat(w.p50Micros()).isEqualTo(201.728);
        assertThat(w.p99Micros()).isEqualTo(1531.904);
        assertThat(w.ios()).isEqualTo(43215);
        assertThat(w.bytes()).isEqualTo(177008640);
        assertThat(FioResult.parse(FioResult.read(json), "mixed").ios()).isEqualTo(1);
    }

    @Test
    void theTableShowsBothPathsAndTheirRatio() {
        List<ClusterDemo.Workload> w = ClusterDemo.workloads(8);
        List<ClusterDemo.Row> rows = List.of(
                new ClusterDemo.Row(w.get(0), new FioResult(470, 2110, 2410, 4700, 0, 0), new FioResult(4700, 211, 1205, 47000, 0, 0), Double.NaN,
                        new FioResult(2000, 480, 900, 10000, 0, 0)),
                new ClusterDemo.Row(w.get(1), new FioResult(3000, 2200, 4000, 30000, 0, 0), new FioResult(2000, 550, 8000, 20000, 0, 0), 0.873,
                        null));
        String t = ClusterDemo.table(rows, 10, "2ms");
        assertThat(t).contains("10 s per run after 1 s warm-up;");
        assertThat(ClusterDemo.table(rows, 2, "2ms")).contains("2 s per run;");
        assertThat(t).contains("  4 KiB random write, iodepth 1\n");
        assertThat(t).containsPattern("SAN alone \\(2ms per I/O\\) +470 +2.11 ms +2.41 ms");
        assertThat(t).containsPattern("Flashvisor write-back, 1 replica +4,700 +0.211 ms +1.21 ms");
        assertThat(t).containsPattern("Flashvisor vs SAN +10.0x more +10.0x lower +2.0x lower");
        assertThat(t).containsPattern("\\(flash stand-in: write \\+ sync\\) +2,000 +0.480 ms +0.900 ms");
        // Worse is said as worse, not as a ratio below 1.
        assertThat(t).containsPattern("Flashvisor vs SAN +1.5x fewer +4.0x lower +2.0x higher");
        assertThat(t).contains("87 % of reads served from hv1's flash");
    }

    @Test
    void commandsAreLoggedAsAShellWouldNeedThem() {
        assertThat(ClusterDemo.shell(List.of("fio", "--trigger=kill -9 $PPID", "--uri=nbd+unix:///vm1?socket=/tmp/a.sock", "it's")))
                .isEqualTo("fio '--trigger=kill -9 $PPID' '--uri=nbd+unix:///vm1?socket=/tmp/a.sock' 'it'\\''s'");
        assertThat(ClusterDemo.shell(List.of("nbdkit", "--filter=delay", "rdelay=2ms"))).isEqualTo("nbdkit --filter=delay rdelay=2ms");
    }

    @Test
    void twoDemosStartedInTheSameSecondGetTheirOwnDirectories() throws Exception {
        Path a = ClusterDemo.newDirectory(dir.resolve("data"), "cluster-20261126-120000");
        Path b = ClusterDemo.newDirectory(dir.resolve("data"), "cluster-20261126-120000");
        assertThat(a.getFileName().toString()).isEqualTo("cluster-20261126-120000");
        assertThat(b.getFileName().toString()).isEqualTo("cluster-20261126-120000-2");
    }

    @Test
    void missingProgramsAreNamedWithTheInstallCommand() {
        String m = Prerequisites.message(List.of("fio (the load generator): not found"));
        assertThat(m).contains("fio (the load generator): not found").contains("apt-get install -y fio nbdkit libnbd-bin qemu-utils")
                .contains("demo --single");
    }
}
