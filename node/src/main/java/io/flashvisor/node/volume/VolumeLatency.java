package io.flashvisor.node.volume;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A volume's latency breakdown: one {@link LatencyRecorder} per {@link LatencyComponent}. The
 * {@code record} methods are called on the I/O path and are wait-free. Thread-safe.
 */
public final class VolumeLatency {
    private final EnumMap<LatencyComponent, LatencyRecorder> recorders = new EnumMap<>(LatencyComponent.class);

    VolumeLatency() {
        for (LatencyComponent c : LatencyComponent.values()) {
            recorders.put(c, new LatencyRecorder());
        }
    }

    /** An operation of {@code component} that began at {@code startNanos} ({@link System#nanoTime}) ends now. */
    void since(LatencyComponent component, long startNanos) {
        recorders.get(component).record(System.nanoTime() - startNanos);
    }

    /** An operation of {@code component} that took {@code nanos}. */
    void record(LatencyComponent component, long nanos) {
        recorders.get(component).record(nanos);
    }

    /** Moves recent values into the window (the node calls it once a second; reads do it too). */
    public void harvest() {
        long now = System.nanoTime();
        recorders.values().forEach(r -> r.harvest(now));
    }

    /** Every component, in {@link LatencyComponent} order. */
    public Map<LatencyComponent, LatencySummary> summary() {
        long now = System.nanoTime();
        Map<LatencyComponent, LatencySummary> r = new EnumMap<>(LatencyComponent.class);
        recorders.forEach((c, rec) -> r.put(c, rec.summary(now)));
        return r;
    }

    /** {@link #summary} keyed by label ({@code vm-read}, ...), as the status shows it. */
    Map<String, LatencySummary> byLabel() {
        Map<String, LatencySummary> r = new LinkedHashMap<>();
        summary().forEach((c, s) -> r.put(c.label(), s));
        return r;
    }
}
