package io.flashvisor.node;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The volumes this host is configured to serve but could not claim at start
 * ({@link VolumeOwnership.NotServableNow}: another live host owns the volume, or a takeover of it is
 * unfinished) — typically a VM that moved here while its old host still holds the volume for a few
 * seconds. Every second each one is tried again ({@link Attempt}, {@code Node.serveIfFree}): once
 * the volume is free it is opened exactly as at start and its export is added to the running NBD
 * server. Until then the status command shows it as {@code waiting}, with the reason.
 *
 * <p>Logs once when a volume starts waiting, again only when the reason changes, and once when it
 * is served. One virtual thread, started only when something waits and ended when nothing does
 * any more; {@link #close} stops it (and waits for an attempt in progress) before the node closes
 * its volumes.
 */
final class PendingVolumes implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PendingVolumes.class);
    static final Duration PERIOD = Duration.ofSeconds(1);
    /** How long {@link #close} waits for an attempt in progress (a claim connects to peers, 10 s at most each). */
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

    /** One try to serve a waiting volume. */
    interface Attempt {
        /** Null when the volume is served now; otherwise why it still waits. */
        String tryServe(VolumeSpec spec);
    }

    private static final class Entry {
        final VolumeSpec spec;
        final Instant since = Instant.now();
        volatile String reason;

        Entry(VolumeSpec spec, String reason) {
            this.spec = spec;
            this.reason = reason;
        }
    }

    private final Map<String, Entry> waiting = new LinkedHashMap<>(); // guarded by this; configuration order
    private final CountDownLatch stop = new CountDownLatch(1);
    private volatile boolean running = true;
    private Thread thread; // guarded by this

    /** Records a volume that could not be claimed at start. */
    synchronized void add(VolumeSpec spec, String reason) {
        waiting.put(spec.name(), new Entry(spec, reason));
        LOG.warn("volume {} is not served by this host yet: {}; it is tried again every {} s and served as soon as it is free",
                spec.name(), reason, PERIOD.toSeconds());
    }

    /** Starts trying again in the background, if any volume waits. */
    synchronized void start(Attempt attempt) {
        if (waiting.isEmpty() || thread != null || !running) {
            return;
        }
        thread = Thread.ofVirtual().name("pending-volumes").start(() -> run(attempt));
    }

    /** The waiting volumes, in configuration order. */
    synchronized List<WaitingVolume> list() {
        List<WaitingVolume> r = new ArrayList<>();
        for (Entry e : waiting.values()) {
            r.add(new WaitingVolume(e.spec.name(), e.spec.policy().configName(), WaitingVolume.HEALTH, e.reason, e.since.toString()));
        }
        return r;
    }

    /** Why {@code name} waits, or null if it does not (served, or not configured). */
    synchronized String reason(String name) {
        Entry e = waiting.get(name);
        return e == null ? null : e.reason;
    }

    /** {@code name} is served now: it waits no more. The node calls it as it publishes the volume. */
    void served(String name) {
        Entry e;
        synchronized (this) {
            e = waiting.remove(name);
        }
        if (e != null) {
            LOG.info("volume {} is served by this host now (it waited {} s)", name, Duration.between(e.since, Instant.now()).toSeconds());
        }
    }

    private synchronized List<Entry> snapshot() {
        return new ArrayList<>(waiting.values());
    }

    private void run(Attempt attempt) {
        try {
            while (running && !stop.await(PERIOD.toMillis(), TimeUnit.MILLISECONDS)) {
                for (Entry e : snapshot()) {
                    if (!running) {
                        return;
                    }
                    String why;
                    try {
                        why = attempt.tryServe(e.spec);
                    } catch (RuntimeException ex) {
                        why = "cannot claim it now: " + ex.getMessage();
                    }
                    if (why == null) {
                        served(e.spec.name()); // Already done when the node published it; idempotent.
                    } else if (!why.equals(e.reason)) {
                        e.reason = why;
                        LOG.warn("volume {} is still not served by this host: {}", e.spec.name(), why);
                    }
                }
                synchronized (this) {
                    if (waiting.isEmpty()) {
                        return;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops trying; an attempt in progress finishes first (up to a minute). Idempotent. */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            running = false;
            t = thread;
        }
        stop.countDown();
        if (t == null) {
            return;
        }
        try {
            if (!t.join(STOP_TIMEOUT)) {
                LOG.warn("a waiting volume's claim is still in progress after {} s; the node stops without it",
                        STOP_TIMEOUT.toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
