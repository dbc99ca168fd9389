package io.flashvisor.cluster;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A deterministic stand-in for the ZooKeeper ensemble, for unit tests and the seeded simulation:
 * one object holds the "server" state (sessions, ephemeral host records, versioned volume
 * records) and hands out {@link Cluster} clients, one per host incarnation.
 *
 * <p>It has no threads. Time is the injected clock; nothing happens on its own — {@link #tick()}
 * runs heartbeats and timeouts at the clock's current instant, {@link #partition}/{@link #heal}
 * cut and restore a host's link, {@link #expire} kills a session, {@link #crash} stops a client
 * dead. Listeners are called synchronously, in event order, before the operation that caused
 * them returns (a listener that itself writes has its events queued behind the current ones).
 *
 * <p>Semantics follow ZooKeeper as seen through Curator (docs/cluster.md): record versions start at
 * 0 and grow by one per update; compare-and-set and ephemeral records behave the same; a client
 * cut off from the servers turns SUSPENDED after 2/3 of the session timeout T without hearing from
 * them, and LOST after a further T; the servers expire a session T after they last heard from it.
 * One deliberate difference: {@link Cluster#register} fails at once with {@code HOST_ID_TAKEN}
 * instead of waiting for an old incarnation's session to expire — a single-threaded simulation
 * cannot wait; advance the clock, {@link #tick()} and retry.
 *
 * <p>Not thread-safe: drive it from one thread.
 */
public final class InMemoryCluster {
    private static final Logger LOG = LoggerFactory.getLogger(InMemoryCluster.class);

    /** The server's view of one session. */
    static final class ServerSession {
        final long id;
        long lastHeardNanos;

        ServerSession(long id, long now) {
            this.id = id;
            this.lastHeardNanos = now;
        }
    }

    final LongSupplier clock;
    final long sessionTimeoutNanos;
    final long leaseNanos;
    final TreeMap<String, Member> hostNodes = new TreeMap<>();
    final TreeMap<String, VolumeRecord> volumeNodes = new TreeMap<>();
    final Map<Long, ServerSession> sessions = new HashMap<>();
    final List<InMemoryClient> clients = new ArrayList<>();
    private final ArrayDeque<Runnable> pending = new ArrayDeque<>();
    private boolean draining;
    private long nextSessionId = 1;

    /** With the default session timeout (6 s) and lease (half of it). */
    public InMemoryCluster(LongSupplier clock) {
        this(clock, Duration.ofSeconds(6));
    }

    public InMemoryCluster(LongSupplier clock, Duration sessionTimeout) {
        this(clock, sessionTimeout, sessionTimeout.dividedBy(2));
    }

    /** @param lease how long an answered heartbeat lets a host act; must be shorter than the session timeout */
    public InMemoryCluster(LongSupplier clock, Duration sessionTimeout, Duration lease) {
        if (lease.compareTo(sessionTimeout) >= 0 || lease.isNegative() || lease.isZero()) {
            throw new IllegalArgumentException("lease " + lease + " must be positive and shorter than the session timeout " + sessionTimeout);
        }
        this.clock = clock;
        this.sessionTimeoutNanos = sessionTimeout.toNanos();
        this.leaseNanos = lease.toNanos();
    }

    public Duration sessionTimeout() {
        return Duration.ofNanos(sessionTimeoutNanos);
    }

    /** A new client for {@code hostId} with a fresh session, CONNECTED. */
    public Cluster connect(String hostId) {
        HostInfo.requireName("host id", hostId);
        InMemoryClient c = new InMemoryClient(this, hostId);
        clients.add(c);
        c.startSession(false);
        drain();
        return c;
    }

    /** Cuts every live client of {@code hostId} off the servers (they notice only by timeouts). */
    public void partition(String hostId) {
        clientsOf(hostId).forEach(c -> c.partitioned = true);
    }

    /** Restores the link; the clients reconnect at once (same session if it still exists). */
    public void heal(String hostId) {
        clientsOf(hostId).forEach(c -> {
            c.partitioned = false;
            c.reconnect();
        });
        drain();
    }

    /** The servers expire the current session of every live client of {@code hostId} now. */
    public void expire(String hostId) {
        for (InMemoryClient c : clientsOf(hostId)) {
            expireSession(c.sessionId);
            if (!c.partitioned) {
                c.noticeExpiry();
            }
        }
        drain();
    }

    /** The client stops dead (process killed): no more heartbeats or callbacks; its session expires by timeout. */
    public void crash(Cluster client) {
        InMemoryClient c = (InMemoryClient) client;
        c.crashed = true;
        clients.remove(c);
    }

    /**
     * Runs everything due at the clock's current instant: heartbeats of reachable clients (which
     * renew their leases), expiry of sessions not heard from for T, and the client-side timeouts
     * of cut-off clients (SUSPENDED after 2T/3 of silence, LOST a further T later).
     */
    public void tick() {
        long now = clock.getAsLong();
        for (InMemoryClient c : List.copyOf(clients)) {
            if (!c.partitioned && c.state.isConnected()) {
                c.heartbeat(now);
            }
        }
        for (ServerSession s : List.copyOf(sessions.values())) {
            if (now - s.lastHeardNanos >= sessionTimeoutNanos) {
                LOG.debug("session 0x{} expired", Long.toHexString(s.id));
                expireSession(s.id);
            }
        }
        for (InMemoryClient c : List.copyOf(clients)) {
            if (c.partitioned) {
                c.checkTimeouts(now);
            }
        }
        drain();
    }

    // ---- server side, used by the clients ----

    long newSession() {
        long id = nextSessionId++;
        sessions.put(id, new ServerSession(id, clock.getAsLong()));
        return id;
    }

    boolean sessionAlive(long id) {
        return sessions.containsKey(id);
    }

    void touch(long id) {
        ServerSession s = sessions.get(id);
        if (s != null) {
            s.lastHeardNanos = clock.getAsLong();
        }
    }

    void expireSession(long id) {
        if (sessions.remove(id) == null) {
            return;
        }
        boolean removed = hostNodes.values().removeIf(m -> m.sessionId() == id);
        if (removed) {
            hostsChanged();
        }
    }

    void hostsChanged() {
        List<Member> live = List.copyOf(hostNodes.values());
        for (InMemoryClient c : clients) {
            if (c.reachable()) {
                c.deliverHosts(live);
            }
        }
    }

    void volumeChanged(String name) {
        VolumeRecord r = volumeNodes.get(name);
        for (InMemoryClient c : clients) {
            if (c.reachable()) {
                c.deliverVolume(name, r);
            }
        }
    }

    List<Member> liveHosts() {
        return List.copyOf(hostNodes.values());
    }

    Optional<VolumeRecord> readVolume(String name) {
        return Optional.ofNullable(volumeNodes.get(name));
    }

    void post(Runnable event) {
        pending.add(event);
    }

    /** Runs queued callbacks in order; a callback that causes events has them appended, not nested. */
    void drain() {
        if (draining) {
            return;
        }
        draining = true;
        try {
            Runnable r;
            while ((r = pending.poll()) != null) {
                r.run();
            }
        } finally {
            draining = false;
        }
    }

    private List<InMemoryClient> clientsOf(String hostId) {
        return clients.stream().filter(c -> c.hostId().equals(hostId)).toList();
    }
}
