package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A node with {@code metrics: {listen: 127.0.0.1:0}} prints the URL it got and serves Prometheus text
 * there while fio writes through NBD to a write-back volume over a slow SAN (nbdkit delay, 1 ms per
 * write): the VM's write count grows from scrape to scrape, the health is {@code ok}, and the
 * destager's writes show in {@code san} at no less than the SAN's delay. {@code flashvisor metrics}
 * and {@code flashvisor status} show the same through the control socket.
 */
@Timeout(180)
class MetricsTest {
    private static final long MiB = 1 << 20;
    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"(?:\\\\.|[^\"\\\\])*\"(?:,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:\\\\.|[^\"\\\\])*\")*\\})? "
                    + "(NaN|[+-]Inf|-?[0-9]+(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)");

    @RegisterExtension
    final TestKit kit = new TestKit();

    @AfterEach
    void stopFioFirst() {
        CrashChecker.killWriters();
    }

    @Test
    void metricsOverHttpFollowFioWrites() throws Exception {
        Path san = kit.file("san.img");
        Tools.sparseFile(san, 64 * MiB);
        Nbdkit slowSan = kit.slowSan(san, "wdelay=1ms");
        Path ctl = kit.file("ctl.sock");
        FlashvisorProcess node = kit.node("""
                listeners:
                  - unix: %s
                control: %s
                flash: {device: %s, size: 64M}
                metrics: {listen: "127.0.0.1:0"}
                volumes:
                  - {name: vol, backing: "%s", policy: write-back}
                """.formatted(kit.file("nbd.sock"), ctl, kit.file("flash.img"), slowSan.uri()), 1);
        String url = node.stdout().lines().filter(l -> l.startsWith("metrics ")).map(l -> l.substring(8)).findFirst().orElseThrow();
        assertThat(url).as(node.output()).matches("http://127\\.0\\.0\\.1:[1-9][0-9]*/metrics");

        Path json = kit.file("fio.json");
        Tools.Background fio = kit.background("fio", Fio.command(json, "--name=w", "--thread", "--ioengine=nbd", "--uri=" + node.uri(),
                "--rw=randwrite", "--bs=4k", "--size=16M", "--iodepth=4", "--rate=,2m", "--time_based", "--runtime=6"));
        CrashChecker.track(fio.process());

        String count = "flashvisor_volume_latency_seconds_count{volume=\"vol\",component=\"vm-write\"}";
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        Map<String, String> first = scrape(url);
        while (Double.parseDouble(first.get(count)) == 0 && System.nanoTime() < deadline) {
            Thread.sleep(200);
            first = scrape(url);
        }
        Thread.sleep(1500);
        Map<String, String> second = scrape(url);
        assertThat(fio.isAlive()).as("fio still writing at the second scrape\n" + fio.output()).isTrue();
        assertThat(Double.parseDouble(first.get(count))).as("writes counted").isPositive();
        assertThat(Double.parseDouble(second.get(count))).as("the write count grows while fio writes")
                .isGreaterThan(Double.parseDouble(first.get(count)));
        assertThat(second).containsEntry("flashvisor_volume_health{volume=\"vol\",health=\"ok\"}", "1")
                .containsEntry("flashvisor_volume_info{volume=\"vol\",policy=\"write-back\"}", "1");
        assertThat(Double.parseDouble(second.get("flashvisor_volume_dirty_bytes{volume=\"vol\"}"))).isNotNegative();
        assertThat(Double.parseDouble(second.get("flashvisor_volume_latency_seconds{volume=\"vol\",component=\"vm-write\",quantile=\"0.99\"}")))
                .as("a p99 for the last minute's writes").isPositive();
        assertThat(Double.parseDouble(second.get("flashvisor_volume_latency_seconds_count{volume=\"vol\",component=\"flash-write\"}")))
                .as("dirty appends").isPositive();
        assertThat(second).containsEntry("flashvisor_volume_latency_seconds_count{volume=\"vol\",component=\"peer\"}", "0");

        Tools.Result done = fio.await(Duration.ofSeconds(60));
        done.ok();
        assertThat(Fio.report(json).path("jobs").get(0).path("error").asInt()).as(Fio.summary(Fio.report(json))).isZero();
        // The destager's writes go to the slow SAN: at least its 1 ms each.
        Map<String, String> last = scrape(url);
        deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (Double.parseDouble(last.get("flashvisor_volume_latency_seconds_count{volume=\"vol\",component=\"san\"}")) == 0
                && System.nanoTime() < deadline) {
            Thread.sleep(200);
            last = scrape(url);
        }
        assertThat(Double.parseDouble(last.get("flashvisor_volume_latency_seconds{volume=\"vol\",component=\"san\",quantile=\"0.5\"}")))
                .as("san p50 over a SAN that delays every write by 1 ms").isGreaterThanOrEqualTo(0.001);

        FlashvisorProcess metrics = kit.flashvisor("flashvisor metrics", "metrics", "--control", ctl.toString());
        assertThat(metrics.awaitExit(Duration.ofSeconds(60))).as(metrics.output()).isZero();
        assertThat(metrics.stdout()).as(metrics.output()).contains("# TYPE flashvisor_volume_latency_seconds summary").contains(count);
        FlashvisorProcess status = kit.flashvisor("flashvisor status", "status", "--control", ctl.toString());
        assertThat(status.awaitExit(Duration.ofSeconds(60))).as(status.output()).isZero();
        System.out.println(status.stdout());
        assertThat(status.stdout()).as(status.output()).containsPattern("latency p50/p99 \\(last minute\\):  vm-read \\S+  vm-write \\S+/\\S+  "
                + "flash-read \\S+  flash-write \\S+/\\S+  peer -  san \\S+/\\S+");

        assertThat(node.stop(Duration.ofSeconds(40))).isZero();
    }

    /** GETs the metrics, checks every line is a HELP, a TYPE or a sample of a typed family; the samples, "name{labels}" → value. */
    private static Map<String, String> scrape(String url) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        Map<String, String> samples = new HashMap<>();
        Set<String> typed = new HashSet<>();
        Set<String> helped = new HashSet<>();
        for (String line : r.body().lines().toList()) {
            if (line.startsWith("# HELP ")) {
                helped.add(line.split(" ")[2]);
            } else if (line.startsWith("# TYPE ")) {
                typed.add(line.split(" ")[2]);
            } else {
                Matcher m = SAMPLE.matcher(line);
                assertThat(m.matches()).as("a sample line: '%s'", line).isTrue();
                String family = m.group(1).replaceAll("_(sum|count)$", "");
                assertThat(typed.contains(m.group(1)) || typed.contains(family)).as("TYPE before %s", line).isTrue();
                assertThat(helped.contains(m.group(1)) || helped.contains(family)).as("HELP before %s", line).isTrue();
                samples.put(m.group(1) + (m.group(2) == null ? "{}" : m.group(2)), m.group(3));
            }
        }
        assertThat(samples).isNotEmpty();
        return samples;
    }
}
