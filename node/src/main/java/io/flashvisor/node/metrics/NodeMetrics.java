package io.flashvisor.node.metrics;

import io.flashvisor.node.Node;
import io.flashvisor.node.WaitingVolume;
import io.flashvisor.node.volume.CachedVolume;
import io.flashvisor.node.volume.FlashDevice;
import io.flashvisor.node.volume.LatencyComponent;
import io.flashvisor.node.volume.LatencySummary;
import io.flashvisor.node.volume.VolumeStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * A node's metrics in the Prometheus text format: the flash device, then per volume (label
 * {@code volume}, and {@code host} in a cluster) what {@code flashvisor status} shows — health as a
 * state set, counters, gauges, and the latency breakdown as a summary. Every metric is described in
 * docs/observability.md. Built from {@link VolumeStatus} snapshots, so metrics and status agree.
 */
public final class NodeMetrics {
    /** Every health a volume can show; the health metric has one sample per state, 1 for the current one. */
    static final List<String> HEALTHS = List.of("ok", "draining", "destage-failing", "degraded", "fenced", "flash-failed",
            WaitingVolume.HEALTH);
    private static final double[] QUANTILES = {0.5, 0.99, 1};

    /** The node's flash device as the metrics show it. */
    public record Flash(long capacityBytes, long cachedBytes, long dirtyBytes, int segments, int freeSegments, boolean failed) {
        static Flash of(FlashDevice device) {
            var s = device.cache().stats();
            return new Flash(device.cache().capacityBlocks() * 4096, s.cachedBlocks() * 4096, s.dirtyBlocks() * 4096, s.segments(),
                    s.freeSegments(), device.cache().failed());
        }
    }

    private NodeMetrics() {
    }

    /** The running node's metrics now. */
    public static String render(Node node) {
        List<VolumeStatus> volumes = new ArrayList<>();
        for (CachedVolume v : node.cachedVolumes().values()) {
            volumes.add(v.status());
        }
        String host = node.cluster() == null ? null : node.settings().cluster().hostId();
        return render(host, node.flash() == null ? null : Flash.of(node.flash()), volumes, node.waitingVolumes());
    }

    /**
     * @param host    this host's cluster id, or null for a single host (then no {@code host} label)
     * @param flash   the flash device, or null
     */
    public static String render(String host, Flash flash, List<VolumeStatus> volumes, List<WaitingVolume> waiting) {
        PrometheusText t = new PrometheusText();
        String[] hostLabel = host == null ? new String[0] : new String[] {"host", host};
        if (flash != null) {
            t.family("flashvisor_flash_capacity_bytes", "gauge", "Bytes of the flash device the cache can use.")
                    .sample(flash.capacityBytes(), hostLabel);
            t.family("flashvisor_flash_cached_bytes", "gauge", "Bytes of readable cached blocks on the flash device, all volumes.")
                    .sample(flash.cachedBytes(), hostLabel);
            t.family("flashvisor_flash_dirty_bytes", "gauge", "Bytes on the flash device not yet destaged, all volumes.")
                    .sample(flash.dirtyBytes(), hostLabel);
            t.family("flashvisor_flash_free_segments", "gauge", "Free segments of the flash log.").sample(flash.freeSegments(), hostLabel);
            t.family("flashvisor_flash_segments", "gauge", "Segments of the flash log.").sample(flash.segments(), hostLabel);
            t.family("flashvisor_flash_failed", "gauge", "1 when the flash device failed (its volumes run pass-through).")
                    .sample(flash.failed() ? 1 : 0, hostLabel);
        }

        t.family("flashvisor_volume_health", "gauge", "The volume's health as in 'flashvisor status': 1 for the current state, "
                + "0 for the others.");
        for (VolumeStatus v : volumes) {
            health(t, labels(host, v.name()), v.health());
        }
        for (WaitingVolume w : waiting) {
            health(t, labels(host, w.name()), w.health());
        }
        t.family("flashvisor_volume_info", "gauge", "Always 1; labels: the volume's current policy.");
        for (VolumeStatus v : volumes) {
            t.sample(1, labels(host, v.name(), "policy", v.policy()));
        }

        gauge(t, volumes, host, "flashvisor_volume_size_bytes", "The volume's size.", VolumeStatus::sizeBytes);
        gauge(t, volumes, host, "flashvisor_volume_cached_bytes", "Bytes of the volume cached on flash.", VolumeStatus::cachedBytes);
        gauge(t, volumes, host, "flashvisor_volume_dirty_bytes", "Bytes of the volume on flash not yet destaged to the backing store.",
                VolumeStatus::dirtyBytes);
        gauge(t, volumes, host, "flashvisor_volume_seconds_to_clean", "Dirty bytes / recent destage rate: 0 when clean, -1 when "
                + "unknown (no rate yet, or destage failing).", VolumeStatus::secondsToClean);
        gauge(t, volumes, host, "flashvisor_volume_lost_blocks", "Blocks whose only copy was lost to flash corruption (read as EIO).",
                VolumeStatus::lostBlocks);
        gauge(t, volumes, host, "flashvisor_volume_degraded", "1 while a replica peer is missing or disconnected: writes are "
                + "acknowledged only once on the backing store.", v -> v.degraded() ? 1 : 0);
        gauge(t, volumes, host, "flashvisor_volume_fenced", "1 while this host's lease on the replicated volume has lapsed: "
                + "requests fail, destaging stops.", v -> v.fenced() ? 1 : 0);
        gauge(t, volumes, host, "flashvisor_volume_replicas", "Peers promised to hold each write (0: not replicated).",
                VolumeStatus::replicas);
        gauge(t, volumes, host, "flashvisor_volume_live_replicas", "Connected peers in the replica set; below "
                + "flashvisor_volume_replicas the volume runs with fewer copies than promised.", VolumeStatus::liveReplicas);

        counter(t, volumes, host, "flashvisor_volume_hits_total", "Block lookups found in flash.", VolumeStatus::hits);
        counter(t, volumes, host, "flashvisor_volume_misses_total", "Block lookups not found in flash.", VolumeStatus::misses);
        counter(t, volumes, host, "flashvisor_volume_destaged_bytes_total", "Bytes written from flash to the backing store by the "
                + "destager.", VolumeStatus::destagedBytes);
        counter(t, volumes, host, "flashvisor_volume_destage_errors_total", "Destage batches that failed (retried; the data "
                + "stays dirty on flash).", VolumeStatus::destageFailures);
        counter(t, volumes, host, "flashvisor_volume_replica_fallback_writes_total", "Writes acknowledged only once on the "
                + "backing store because a replica copy was missing.", VolumeStatus::replicaFallbackWrites);
        counter(t, volumes, host, "flashvisor_volume_fallback_writes_total", "Writes that went to the backing store because "
                + "flash was full or failed.", VolumeStatus::fallbackWrites);
        counter(t, volumes, host, "flashvisor_volume_bypassed_bytes_total", "Bytes of sequential writes that went around flash.",
                VolumeStatus::bypassedBytes);

        t.family("flashvisor_volume_latency_seconds", "summary", "Where the volume's I/O time goes, by component (vm-read, "
                + "vm-write, flash, peer, san; docs/observability.md): quantiles over the last minute (1 = the slowest), "
                + "sum and count since the volume was opened.");
        for (VolumeStatus v : volumes) {
            for (LatencyComponent c : LatencyComponent.values()) {
                LatencySummary s = v.latency().get(c.label());
                if (s == null) {
                    continue;
                }
                String[] l = labels(host, v.name(), "component", c.label());
                long[] micros = {s.p50Micros(), s.p99Micros(), s.maxMicros()};
                for (int i = 0; i < QUANTILES.length; i++) {
                    t.sample(s.count() == 0 ? Double.NaN : micros[i] / 1e6, append(l, "quantile", PrometheusText.format(QUANTILES[i])));
                }
                t.sample("_sum", s.totalMicros() / 1e6, l);
                t.sample("_count", s.totalCount(), l);
            }
        }
        return t.text();
    }

    private static void health(PrometheusText t, String[] labels, String health) {
        for (String h : HEALTHS) {
            t.sample(h.equals(health) ? 1 : 0, append(labels, "health", h));
        }
    }

    private static void gauge(PrometheusText t, List<VolumeStatus> volumes, String host, String name, String help,
                              ToDoubleFunction<VolumeStatus> value) {
        family(t, volumes, host, name, "gauge", help, value);
    }

    private static void counter(PrometheusText t, List<VolumeStatus> volumes, String host, String name, String help,
                                ToDoubleFunction<VolumeStatus> value) {
        family(t, volumes, host, name, "counter", help, value);
    }

    private static void family(PrometheusText t, List<VolumeStatus> volumes, String host, String name, String type, String help,
                               ToDoubleFunction<VolumeStatus> value) {
        t.family(name, type, help);
        for (VolumeStatus v : volumes) {
            t.sample(value.applyAsDouble(v), labels(host, v.name()));
        }
    }

    private static String[] labels(String host, String volume, String... more) {
        String[] base = host == null ? new String[] {"volume", volume} : new String[] {"volume", volume, "host", host};
        return append(base, more);
    }

    private static String[] append(String[] labels, String... more) {
        String[] r = java.util.Arrays.copyOf(labels, labels.length + more.length);
        System.arraycopy(more, 0, r, labels.length, more.length);
        return r;
    }
}
