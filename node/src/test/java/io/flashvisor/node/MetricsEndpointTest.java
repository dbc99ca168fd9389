package io.flashvisor.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.flashvisor.node.metrics.NodeMetricsTest;
import io.flashvisor.node.metrics.PrometheusText;
import io.flashvisor.node.volume.CachedVolume;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node with {@code metrics: {listen: 127.0.0.1:0}} serves its metrics over HTTP and through the
 * control socket's {@code metrics} command, and its status carries the latency breakdown; the config
 * keeps the unauthenticated endpoint on loopback unless told {@code insecure: true}.
 */
class MetricsEndpointTest {
    @TempDir
    Path dir;

    @Test
    void metricsOverHttpAndTheControlSocketAgreeWithWhatTheVolumeDid() throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("vm1.img").toFile(), "rw")) {
            f.setLength(16 << 20);
        }
        NodeSettings settings = ConfigLoader.parse("""
                listeners:
                  - unix: nbd.sock
                flash: {device: flash.img, size: 64M}
                control: ctl.sock
                metrics: {listen: "127.0.0.1:0"}
                volumes:
                  - {name: vm1, backing: vm1.img, policy: write-back}
                """, "node.yaml", dir);
        try (Node node = Node.start(settings)) {
            assertThat(node.metricsUrl()).matches("http://127\\.0\\.0\\.1:[1-9][0-9]*/metrics");
            CachedVolume vm1 = node.cachedVolumes().get("vm1");
            for (int i = 0; i < 3; i++) {
                vm1.write(i * 4096L, ByteBuffer.allocate(4096), false);
            }
            vm1.read(0, ByteBuffer.allocate(4096));

            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(node.metricsUrl())).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).hasValue(PrometheusText.CONTENT_TYPE);
            Map<String, String> samples = NodeMetricsTest.assertValidExposition(r.body());
            assertThat(samples).containsEntry("flashvisor_volume_latency_seconds_count{volume=\"vm1\",component=\"vm-write\"}", "3")
                    .containsEntry("flashvisor_volume_latency_seconds_count{volume=\"vm1\",component=\"vm-read\"}", "1")
                    .containsEntry("flashvisor_volume_health{volume=\"vm1\",health=\"ok\"}", "1")
                    .containsKey("flashvisor_volume_dirty_bytes{volume=\"vm1\"}")
                    .containsEntry("flashvisor_volume_replicas{volume=\"vm1\"}", "0");

            HttpResponse<String> other = http.send(HttpRequest.newBuilder(URI.create(node.metricsUrl().replace("/metrics", "/x"))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(other.statusCode()).isEqualTo(404);

            JsonNode viaControl = control(dir.resolve("ctl.sock"), "metrics");
            Map<String, String> again = NodeMetricsTest.assertValidExposition(viaControl.get("metrics").asText());
            assertThat(again).containsEntry("flashvisor_volume_latency_seconds_count{volume=\"vm1\",component=\"vm-write\"}", "3");

            JsonNode latency = control(dir.resolve("ctl.sock"), "status").get("volumes").get(0).get("latency");
            assertThat(latency.get("vm-write").get("count").asLong()).isEqualTo(3);
            assertThat(latency.get("vm-write").has("p99Micros")).isTrue();
            assertThat(latency.get("flash-write").get("count").asLong()).as("three dirty appends").isGreaterThanOrEqualTo(3);
            assertThat(latency.get("flash-read").get("count").asLong()).as("one read of a cached block").isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void aNonLoopbackMetricsAddressNeedsInsecure() throws Exception {
        String base = """
                listeners:
                  - unix: nbd.sock
                volumes:
                  - {name: vm1, backing: vm1.img}
                """;
        assertThatThrownBy(() -> ConfigLoader.parse(base + "metrics: {listen: \"0.0.0.0:9410\"}\n", "node.yaml", dir))
                .hasMessageContaining("metrics.listen: 0.0.0.0:9410 is not a loopback address")
                .hasMessageContaining("insecure: true");
        assertThat(ConfigLoader.parse(base + "metrics: {listen: \"0.0.0.0:9410\", insecure: true}\n", "node.yaml", dir).metrics())
                .isEqualTo(new MetricsSpec("0.0.0.0", 9410, true));
        assertThat(ConfigLoader.parse(base + "metrics: {listen: \"[::1]:9410\"}\n", "node.yaml", dir).metrics())
                .isEqualTo(new MetricsSpec("::1", 9410, false));
        assertThat(ConfigLoader.parse(base, "node.yaml", dir).metrics()).isNull();
        assertThatThrownBy(() -> ConfigLoader.parse(base + "metrics: {insecure: true}\n", "node.yaml", dir))
                .hasMessageContaining("metrics.listen: missing");
    }

    private static JsonNode control(Path socket, String command) throws Exception {
        return NodeClusterTest.control(socket, command);
    }
}
