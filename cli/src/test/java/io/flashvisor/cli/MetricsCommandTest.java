package io.flashvisor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flashvisor.node.ConfigLoader;
import io.flashvisor.node.Node;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code flashvisor metrics} prints the node's Prometheus text; {@code flashvisor status} a latency line per volume. */
class MetricsCommandTest {
    @TempDir
    Path dir;

    @Test
    void metricsPrintsThePrometheusTextAndStatusTheLatencyLine() throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("vm1.img").toFile(), "rw")) {
            f.setLength(16 << 20);
        }
        try (Node node = Node.start(ConfigLoader.parse("""
                listeners: [{unix: nbd.sock}]
                control: control.sock
                flash: {device: flash.img, size: 64M}
                volumes: [{name: vm1, backing: vm1.img, policy: write-through}]
                """, "node.yaml", dir))) {
            node.cachedVolumes().get("vm1").write(0, ByteBuffer.allocate(4096), false);
            String control = dir.resolve("control.sock").toString();

            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute("metrics", "--control", control);
            assertThat(code).as(err.toString()).isZero();
            assertThat(out.toString()).startsWith("# HELP flashvisor_flash_capacity_bytes ")
                    .contains("flashvisor_volume_latency_seconds_count{volume=\"vm1\",component=\"vm-write\"} 1\n")
                    .contains("flashvisor_volume_latency_seconds_count{volume=\"vm1\",component=\"san\"} 1\n");

            String status = ControlClient.call(dir.resolve("control.sock"), "status");
            ByteArrayOutputStream printed = new ByteArrayOutputStream();
            StatusCommand.print(new ObjectMapper().readTree(status), new PrintStream(printed, true, StandardCharsets.UTF_8));
            assertThat(printed.toString(StandardCharsets.UTF_8))
                    .containsPattern("\n  latency p50/p99 \\(last minute\\):  vm-read -  vm-write [0-9.]+m?s/[0-9.]+m?s  flash-read \\S+  "
                            + "flash-write \\S+  peer -  san [0-9.]+m?s/[0-9.]+m?s\n".replace("m?s", "(us|ms|s)"));
        }
    }

    @Test
    void microsecondsAreShownWithTheirPrecision() {
        assertThat(StatusCommand.micros(850)).isEqualTo("850us");
        assertThat(StatusCommand.micros(1_240)).isEqualTo("1.2ms");
        assertThat(StatusCommand.micros(35_400)).isEqualTo("35ms");
        assertThat(StatusCommand.micros(2_500_000)).isEqualTo("2.5s");
    }
}
