package io.flashvisor.node.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.node.WaitingVolume;
import io.flashvisor.node.volume.LatencySummary;
import io.flashvisor.node.volume.Sizing;
import io.flashvisor.node.volume.VolumeStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The Prometheus text the node exposes: valid format, one group per family, escaping, and the values of a status. */
public class NodeMetricsTest {
    private static final String LABEL = "[a-zA-Z_][a-zA-Z0-9_]*=\"(?:\\\\[\\\\\"n]|[^\"\\\\\\n])*\"";
    /** {@code name{label="value",...} value}: the only sample syntax the format allows (without timestamps). */
    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(" + LABEL + "(?:," + LABEL + ")*)\\})? (NaN|[+-]Inf|-?[0-9]+(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)");
    private static final Pattern HELP = Pattern.compile("# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (?:\\\\[\\\\n]|[^\\\\\\n])*");
    private static final Pattern TYPE = Pattern.compile("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram|untyped)");

    /**
     * Checks {@code text} against the text format: every line a HELP, a TYPE or a sample; every family
     * with HELP then TYPE before its samples and all its samples in one group; every sample's name its
     * family's (or, for a summary, {@code _sum}/{@code _count}). Returns the samples, "name{labels}" → value.
     */
    public static Map<String, String> assertValidExposition(String text) {
        assertThat(text).endsWith("\n");
        Map<String, String> samples = new LinkedHashMap<>();
        Map<String, String> types = new HashMap<>();
        List<String> closed = new ArrayList<>();
        String family = null;
        String helped = null;
        for (String line : text.substring(0, text.length() - 1).split("\n", -1)) {
            Matcher m;
            if ((m = HELP.matcher(line)).matches()) {
                assertThat(types).as("family %s described twice", m.group(1)).doesNotContainKey(m.group(1));
                if (family != null) {
                    closed.add(family);
                }
                helped = m.group(1);
                family = null;
            } else if ((m = TYPE.matcher(line)).matches()) {
                assertThat(m.group(1)).as("TYPE follows the HELP of the same family").isEqualTo(helped);
                types.put(m.group(1), m.group(2));
                family = m.group(1);
            } else if ((m = SAMPLE.matcher(line)).matches()) {
                assertThat(family).as("sample before any HELP/TYPE: %s", line).isNotNull();
                String name = m.group(1);
                boolean summaryPart = types.get(family).equals("summary") && (name.equals(family + "_sum") || name.equals(family + "_count"));
                assertThat(name.equals(family) || summaryPart).as("sample %s in family %s", line, family).isTrue();
                assertThat(closed).as("samples of a family are one group").doesNotContain(name);
                String key = name + "{" + (m.group(2) == null ? "" : m.group(2)) + "}";
                assertThat(samples).as("duplicate sample %s", key).doesNotContainKey(key);
                samples.put(key, m.group(3));
            } else {
                throw new AssertionError("not a HELP, TYPE or sample line: '" + line + "'");
            }
        }
        return samples;
    }

    static VolumeStatus status(String name, String health, boolean degraded) {
        Map<String, LatencySummary> latency = new LinkedHashMap<>();
        latency.put("vm-read", new LatencySummary(0, 0, 0, 0, 5, 500));
        latency.put("vm-write", new LatencySummary(10, 250, 1200, 3000, 40, 20_000));
        latency.put("flash-read", new LatencySummary(2, 20, 40, 40, 8, 200));
        latency.put("flash-write", new LatencySummary(10, 200, 900, 1000, 40, 10_000));
        latency.put("peer", new LatencySummary(0, 0, 0, 0, 0, 0));
        latency.put("san", new LatencySummary(3, 2000, 5000, 5000, 3, 9000));
        return new VolumeStatus(name, "write-back", health, 1L << 30, 7, 3, 4096 * 100, 4096 * 5, 4096 * 20, 0, 0.5, 1, null, null, 0,
                2, 0, new Sizing(0, 0, 0, 0, List.of()), false, degraded, 1, degraded ? 0 : 1, 4, 6, latency);
    }

    @Test
    void theExpositionIsValidTextFormatWithEscapedLabelValues() {
        String tricky = "vm \"1\"\\disk\nzero";
        String text = NodeMetrics.render("hv\"1", new NodeMetrics.Flash(1L << 30, 4096, 0, 10, 9, false),
                List.of(status(tricky, "degraded", true), status("vm2", "ok", false)),
                List.of(new WaitingVolume("vm3", "write-back", WaitingVolume.HEALTH, "owned by hv2", "2026-01-01T00:00:00Z")));
        Map<String, String> samples = assertValidExposition(text);

        String vm1 = "volume=\"vm \\\"1\\\"\\\\disk\\nzero\",host=\"hv\\\"1\"";
        assertThat(text).contains("{" + vm1 + ",health=\"degraded\"} 1");
        assertThat(samples).containsEntry("flashvisor_volume_health{" + vm1 + ",health=\"ok\"}", "0")
                .containsEntry("flashvisor_volume_health{volume=\"vm2\",host=\"hv\\\"1\",health=\"ok\"}", "1")
                .containsEntry("flashvisor_volume_health{volume=\"vm3\",host=\"hv\\\"1\",health=\"waiting\"}", "1")
                .containsEntry("flashvisor_volume_degraded{" + vm1 + "}", "1")
                .containsEntry("flashvisor_volume_live_replicas{" + vm1 + "}", "0")
                .containsEntry("flashvisor_volume_replicas{" + vm1 + "}", "1")
                .containsEntry("flashvisor_volume_dirty_bytes{volume=\"vm2\",host=\"hv\\\"1\"}", "20480")
                .containsEntry("flashvisor_volume_hits_total{volume=\"vm2\",host=\"hv\\\"1\"}", "7")
                .containsEntry("flashvisor_volume_replica_fallback_writes_total{volume=\"vm2\",host=\"hv\\\"1\"}", "4")
                .containsEntry("flashvisor_volume_destage_errors_total{volume=\"vm2\",host=\"hv\\\"1\"}", "6")
                .containsEntry("flashvisor_volume_seconds_to_clean{volume=\"vm2\",host=\"hv\\\"1\"}", "0.5")
                .containsEntry("flashvisor_flash_capacity_bytes{host=\"hv\\\"1\"}", "1073741824");
        String write = "volume=\"vm2\",host=\"hv\\\"1\",component=\"vm-write\"";
        assertThat(samples).containsEntry("flashvisor_volume_latency_seconds{" + write + ",quantile=\"0.5\"}", "2.5E-4")
                .containsEntry("flashvisor_volume_latency_seconds{" + write + ",quantile=\"0.99\"}", "0.0012")
                .containsEntry("flashvisor_volume_latency_seconds{" + write + ",quantile=\"1\"}", "0.003")
                .containsEntry("flashvisor_volume_latency_seconds_sum{" + write + "}", "0.02")
                .containsEntry("flashvisor_volume_latency_seconds_count{" + write + "}", "40")
                .containsEntry("flashvisor_volume_latency_seconds{volume=\"vm2\",host=\"hv\\\"1\",component=\"peer\",quantile=\"0.5\"}",
                        "NaN");
        // Exactly one health state is set per volume.
        for (String v : List.of(vm1, "volume=\"vm2\",host=\"hv\\\"1\"", "volume=\"vm3\",host=\"hv\\\"1\"")) {
            long set = NodeMetrics.HEALTHS.stream().filter(h -> "1".equals(samples.get("flashvisor_volume_health{" + v + ",health=\"" + h + "\"}")))
                    .count();
            assertThat(set).as(v).isEqualTo(1);
        }
    }

    @Test
    void aSingleHostHasNoHostLabel() {
        String text = NodeMetrics.render(null, null, List.of(status("vm1", "ok", false)), List.of());
        assertThat(assertValidExposition(text)).containsEntry("flashvisor_volume_cached_bytes{volume=\"vm1\"}", "409600");
        assertThat(text).doesNotContain("host=").doesNotContain("flashvisor_flash_");
    }

    @Test
    void theWriterRefusesWhatTheFormatForbids() {
        assertThatThrownBy(() -> new PrometheusText().family("bad-name", "gauge", "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PrometheusText().family("a", "gauge", "x").sample(1, "bad-label", "v"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PrometheusText().family("a", "gauge", "x").family("b", "gauge", "y").family("a", "gauge", "x"))
                .as("a family in two groups").isInstanceOf(IllegalStateException.class);
        assertThat(new PrometheusText().family("a", "gauge", "line\none \\ two").text()).startsWith("# HELP a line\\none \\\\ two\n");
        assertThat(PrometheusText.format(Double.POSITIVE_INFINITY)).isEqualTo("+Inf");
        assertThat(PrometheusText.format(3.0)).isEqualTo("3");
    }

    /** The validator itself rejects what it must (so a pass means something). */
    @Test
    void theValidatorCatchesBrokenExpositions() {
        assertThatThrownBy(() -> assertValidExposition("a 1\n")).isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> assertValidExposition("# HELP a x\n# TYPE a gauge\na{v=\"un\"escaped\"} 1\n"))
                .isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> assertValidExposition("# HELP a x\n# TYPE a gauge\na 1\n# HELP b x\n# TYPE b gauge\na 2\n"))
                .isInstanceOf(AssertionError.class);
        assertThat(assertValidExposition("# HELP a x\n# TYPE a gauge\na{v=\"q\\\"\"} 1\n")).hasSize(1);
    }
}
