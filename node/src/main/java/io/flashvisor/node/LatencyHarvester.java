package io.flashvisor.node;

import io.flashvisor.node.volume.CachedVolume;
import io.flashvisor.node.volume.VolumeLatency;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Once a second, moves every served volume's recent latencies into its window ({@link
 * VolumeLatency#harvest}), so that a value lands in the window slice of the second it was recorded
 * in however rarely status or metrics are read.
 */
final class LatencyHarvester implements AutoCloseable {
    private static final Duration PERIOD = Duration.ofSeconds(1);
    private final Thread thread;
    private volatile boolean running = true;

    private LatencyHarvester(Supplier<Map<String, CachedVolume>> volumes) {
        this.thread = Thread.ofVirtual().name("latency-harvest").unstarted(() -> loop(volumes));
    }

    static LatencyHarvester start(Supplier<Map<String, CachedVolume>> volumes) {
        LatencyHarvester h = new LatencyHarvester(volumes);
        h.thread.start();
        return h;
    }

    private void loop(Supplier<Map<String, CachedVolume>> volumes) {
        while (running) {
            try {
                Thread.sleep(PERIOD);
            } catch (InterruptedException e) {
                return;
            }
            for (CachedVolume v : volumes.get().values()) {
                v.latency().harvest();
            }
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
