package io.flashvisor.cluster;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One host incarnation's client of an {@link InMemoryCluster}. Keeps what it last told its
 * listeners so that, after a partition heals, it can report what it missed — as Curator's caches
 * do after a reconnection. Single-threaded like its cluster.
 */
final class InMemoryClient implements Cluster {
    private static final Logger LOG = LoggerFactory.getLogger(InMemoryClient.class);

    private final InMemoryCluster server;
    private final String hostId;
    private final LeaseTracker leases;
    private final List<ClusterListener> listeners = new CopyOnWriteArrayList<>();
    private final Map<String, VolumeRecord> seenVolumes = new HashMap<>();
    private List<Member> seenHosts = List.of();
    long sessionId;
    SessionState state = SessionState.LOST;
    boolean partitioned;
    boolean crashed;
    private boolean closed;
    private long lastHeardFromServerNanos;
    private long suspendedAtNanos;
    private HostInfo registered;

    InMemoryClient(InMemoryCluster server, String hostId) {
        this.server = server;
        this.hostId = hostId;
        this.leases = new LeaseTracker(server.clock, server.leaseNanos);
    }

    // ---- driven by the cluster ----

    boolean reachable() {
        return !partitioned && !crashed && !closed && state.isConnected();
    }

    /** A fresh session, as Curator makes after LOST (or at the start). */
    void startSession(boolean reconnecting) {
        sessionId = server.newSession();
        long now = server.clock.getAsLong();
        lastHeardFromServerNanos = now;
        state = reconnecting ? SessionState.RECONNECTED : SessionState.CONNECTED;
        leases.connected(sessionId);
        leases.renewed(sessionId, now); // the session handshake is an answered request
        emitSession(new SessionEvent(state, sessionId, reconnecting));
        if (registered != null) {
            createHostNode(registered, false);
        }
        refresh();
    }

    void heartbeat(long now) {
        server.touch(sessionId);
        lastHeardFromServerNanos = now;
        leases.renewed(sessionId, now);
    }

    void checkTimeouts(long now) {
        long sessionTimeout = server.sessionTimeoutNanos;
        if (state.isConnected() && now - lastHeardFromServerNanos >= sessionTimeout * 2 / 3) {
            suspend(now);
        }
        if (state == SessionState.SUSPENDED && now - suspendedAtNanos >= sessionTimeout) {
            lose(); // Curator gives up on a session after a session timeout in SUSPENDED
        }
    }

    /** The link is back: resume the session if the servers still have it, else lose it and start anew. */
    void reconnect() {
        if (crashed || closed) {
            return;
        }
        long now = server.clock.getAsLong();
        if (state.isConnected() && server.sessionAlive(sessionId)) {
            heartbeat(now);
            refresh();
            return;
        }
        if (state.isConnected()) {
            suspend(now);
        }
        if (state == SessionState.SUSPENDED && server.sessionAlive(sessionId)) {
            state = SessionState.RECONNECTED;
            leases.connected(sessionId);
            heartbeat(now);
            emitSession(new SessionEvent(state, sessionId, false));
            refresh();
            return;
        }
        if (state != SessionState.LOST) {
            lose();
        }
        startSession(true);
    }

    /** The servers killed this session while the link was up: disconnect, learn of expiry, start anew. */
    void noticeExpiry() {
        if (crashed || closed || state == SessionState.LOST) {
            return;
        }
        if (state.isConnected()) {
            suspend(server.clock.getAsLong());
        }
        lose();
        startSession(true);
    }

    private void suspend(long now) {
        state = SessionState.SUSPENDED;
        suspendedAtNanos = now;
        leases.suspended();
        emitSession(new SessionEvent(state, sessionId, false));
    }

    private void lose() {
        state = SessionState.LOST;
        leases.lost();
        emitSession(new SessionEvent(state, sessionId, false));
    }

    void deliverHosts(List<Member> live) {
        if (live.equals(seenHosts)) {
            return;
        }
        seenHosts = live;
        post(l -> l.hostsChanged(live));
    }

    void deliverVolume(String name, VolumeRecord r) {
        if (Objects.equals(seenVolumes.get(name), r)) {
            return;
        }
        if (r == null) {
            seenVolumes.remove(name);
        } else {
            seenVolumes.put(name, r);
        }
        post(l -> l.volumeChanged(name, r));
    }

    /** Reports whatever changed while this client could not hear (after a reconnection). */
    private void refresh() {
        deliverHosts(server.liveHosts());
        for (String name : List.copyOf(seenVolumes.keySet())) {
            if (!server.volumeNodes.containsKey(name)) {
                deliverVolume(name, null);
            }
        }
        server.volumeNodes.forEach(this::deliverVolume);
    }

    private void emitSession(SessionEvent e) {
        post(l -> l.sessionChanged(e));
    }

    private void post(Consumer<ClusterListener> call) {
        server.post(() -> {
            if (crashed || closed) {
                return;
            }
            for (ClusterListener l : listeners) {
                try {
                    call.accept(l);
                } catch (RuntimeException e) {
                    LOG.error("cluster listener of host {} failed", hostId, e);
                }
            }
        });
    }

    // ---- the Cluster API ----

    @Override
    public String hostId() {
        return hostId;
    }

    @Override
    public void register(HostInfo self) {
        requireSameHost(self);
        requireUsable();
        createHostNode(self, true);
        registered = self;
        server.drain();
    }

    private void createHostNode(HostInfo self, boolean failIfTaken) {
        Member holder = server.hostNodes.get(hostId);
        if (holder != null && holder.sessionId() != sessionId) {
            if (failIfTaken) {
                throw new ClusterException(ClusterException.Reason.HOST_ID_TAKEN, "host id " + hostId
                        + " is held by session 0x" + Long.toHexString(holder.sessionId()) + " (an older incarnation not yet expired, or a duplicate id)");
            }
            LOG.warn("host {}: cannot re-register, session 0x{} holds the id", hostId, Long.toHexString(holder.sessionId()));
            return;
        }
        server.hostNodes.put(hostId, new Member(self, sessionId));
        server.hostsChanged();
    }

    @Override
    public void updateHost(HostInfo self) {
        requireSameHost(self);
        requireUsable();
        Member holder = server.hostNodes.get(hostId);
        if (holder == null || holder.sessionId() != sessionId) {
            throw new ClusterException(ClusterException.Reason.NOT_ACTING, "host " + hostId + " is not registered in its current session");
        }
        registered = self;
        server.hostNodes.put(hostId, new Member(self, sessionId));
        server.hostsChanged();
        server.drain();
    }

    @Override
    public List<Member> hosts() {
        requireUsable();
        return server.liveHosts();
    }

    @Override
    public VolumeRecord createVolume(VolumeRecord initial) {
        requireUsable();
        if (server.volumeNodes.containsKey(initial.name())) {
            throw new ClusterException(ClusterException.Reason.ALREADY_EXISTS, "volume " + initial.name() + " exists already");
        }
        VolumeRecord stored = initial.withVersion(0);
        server.volumeNodes.put(stored.name(), stored);
        server.volumeChanged(stored.name());
        server.drain();
        return stored;
    }

    @Override
    public Optional<VolumeRecord> volume(String name) {
        requireUsable();
        return server.readVolume(name);
    }

    @Override
    public List<VolumeRecord> volumes() {
        requireUsable();
        return List.copyOf(server.volumeNodes.values());
    }

    @Override
    public CasOutcome compareAndSet(VolumeRecord expected, VolumeRecord next) {
        RecordRules.checkUpdate(expected, next);
        requireUsable();
        VolumeRecord current = server.volumeNodes.get(expected.name());
        if (current == null || current.version() != expected.version()) {
            return CasOutcome.lost(current);
        }
        VolumeRecord stored = next.withVersion(current.version() + 1);
        server.volumeNodes.put(stored.name(), stored);
        server.volumeChanged(stored.name());
        server.drain();
        return CasOutcome.won(stored);
    }

    @Override
    public boolean deleteVolume(VolumeRecord expected) {
        requireUsable();
        VolumeRecord current = server.volumeNodes.get(expected.name());
        if (current == null || current.version() != expected.version()) {
            return false;
        }
        server.volumeNodes.remove(expected.name());
        server.volumeChanged(expected.name());
        server.drain();
        return true;
    }

    @Override
    public SessionState sessionState() {
        return state;
    }

    @Override
    public Lease lease() {
        return leases.lease();
    }

    @Override
    public AutoCloseable addListener(ClusterListener listener) {
        listeners.add(Objects.requireNonNull(listener));
        return () -> listeners.remove(listener);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (!crashed && !partitioned) {
            server.expireSession(sessionId); // a clean close ends the session at once
        }
        closed = true;
        leases.lost();
        server.clients.remove(this);
        server.drain();
    }

    private void requireUsable() {
        if (closed || crashed) {
            throw new ClusterException(ClusterException.Reason.CLOSED, "the cluster client of host " + hostId + " is closed");
        }
        if (partitioned || !state.isConnected()) {
            throw new ClusterException(ClusterException.Reason.UNAVAILABLE,
                    "host " + hostId + " cannot reach the coordination service (session " + state + ")");
        }
        server.touch(sessionId); // every request the servers answer keeps the session alive
        lastHeardFromServerNanos = server.clock.getAsLong();
    }

    private void requireSameHost(HostInfo self) {
        if (!self.hostId().equals(hostId)) {
            throw new IllegalArgumentException("this client acts for host " + hostId + ", not " + self.hostId());
        }
    }

    @Override
    public String toString() {
        return "InMemoryClient[" + hostId + ", session=0x" + Long.toHexString(sessionId) + ", " + state + "]";
    }
}
