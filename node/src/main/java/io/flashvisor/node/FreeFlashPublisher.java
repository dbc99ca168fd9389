package io.flashvisor.node;

import io.flashvisor.cache.engine.FlashCache;
import io.flashvisor.cluster.Cluster;
import io.flashvisor.cluster.ClusterException;
import io.flashvisor.cluster.HostInfo;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this host's free flash in its cluster record current, so that replica placement (which
 * prefers hosts with more free flash) sees what the host holds now, not what it held when it
 * joined. Publishes when the value moved by 1 % of the capacity or more, checked every few seconds.
 */
final class FreeFlashPublisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FreeFlashPublisher.class);
    private static final Duration PERIOD = Duration.ofSeconds(5);

    private final Cluster cluster;
    private final FlashCache cache;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile HostInfo published;

    /** @param periodic publish every few seconds by itself (tests call {@link #publishIfMoved}) */
    FreeFlashPublisher(Cluster cluster, FlashCache cache, HostInfo registered, boolean periodic) {
        this.cluster = cluster;
        this.cache = cache;
        this.published = registered;
        this.thread = periodic ? Thread.ofVirtual().name("free-flash-publisher").start(this::loop) : null;
    }

    static FreeFlashPublisher start(ClusterMembership membership, FlashCache cache) {
        return new FreeFlashPublisher(membership.cluster(), cache, membership.self(), true);
    }

    private void loop() {
        while (running) {
            try {
                Thread.sleep(PERIOD);
            } catch (InterruptedException e) {
                return;
            }
            publishIfMoved();
        }
    }

    void publishIfMoved() {
        long free = ClusterMembership.freeFlashBytes(cache);
        if (Math.abs(free - published.freeFlashBytes()) < published.flashCapacityBytes() / 100 || !cluster.mayAct()) {
            return;
        }
        HostInfo now = new HostInfo(published.hostId(), published.peerAddress(), published.flashCapacityBytes(), free,
                published.faultDomain());
        try {
            cluster.updateHost(now);
            published = now;
        } catch (ClusterException e) {
            LOG.debug("free flash not published now: {}", e.getMessage());
        }
    }

    @Override
    public void close() {
        running = false;
        if (thread != null) {
            thread.interrupt();
        }
    }
}
