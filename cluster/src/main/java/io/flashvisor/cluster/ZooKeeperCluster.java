package io.flashvisor.cluster;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.CuratorEvent;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.ConnectionStateListenerManagerFactory;
import org.apache.curator.framework.state.StandardConnectionStateErrorPolicy;
import org.apache.curator.retry.BoundedExponentialBackoffRetry;
import org.apache.curator.utils.ZKPaths;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Cluster} on Apache ZooKeeper through Apache Curator.
 *
 * <pre>
 * /flashvisor/&lt;cluster&gt;/hosts/&lt;hostId&gt;    ephemeral, JSON HostInfo; ephemeralOwner = the host's session
 * /flashvisor/&lt;cluster&gt;/leases/&lt;hostId&gt;   ephemeral, 8 bytes; rewritten every T/6 to renew the lease
 * /flashvisor/&lt;cluster&gt;/volumes/&lt;name&gt;    persistent, JSON VolumeRecord; stat version = record version
 * </pre>
 *
 * <p>Design notes. Fencing has two parts (docs/cluster.md, "Timing argument"). (1) Curator's
 * connection state: the lease is void from SUSPENDED until RECONNECTED in the same session, and
 * for good after LOST. We keep Curator's standard error policy (SUSPENDED is an error — the
 * session-only policy would keep acting while in doubt) and its standard listener manager (the
 * circuit-breaking one may hold back state changes, and a held-back SUSPENDED is exactly what
 * fencing cannot afford). (2) A lease on the host's monotonic clock: it lasts {@code
 * leaseFraction × T} from the moment a renewal <em>was sent</em> that the leader answered in the
 * same session; a write is used because writes pass the leader, which checks the session. This
 * covers what the connection state cannot: a process paused (GC, SIGSTOP) past its session
 * timeout sees its lease lapsed the instant it resumes, before Curator has even noticed.
 *
 * <p>Threads: Curator's own threads, plus one agent thread per instance ({@code
 * flashvisor-cluster-<host>}) that renews the lease, re-registers the host after a new session,
 * and calls every {@link ClusterListener} — so listeners never run concurrently. Public methods
 * block (bounded by the retry policy: roughly four connection timeouts) and are thread-safe.
 */
public final class ZooKeeperCluster implements Cluster {
    private static final Logger LOG = LoggerFactory.getLogger(ZooKeeperCluster.class);

    private final ZooKeeperClusterConfig config;
    private final CuratorFramework client;
    private final ScheduledExecutorService agent;
    private final LeaseTracker leases;
    private final String hostsPath;
    private final String volumesPath;
    private final String hostPath;
    private final String leasePath;
    private final CopyOnWriteArrayList<ClusterListener> listeners = new CopyOnWriteArrayList<>();
    private final CountDownLatch firstConnection = new CountDownLatch(1);
    private final Map<String, VolumeRecord> deliveredVolumes = new HashMap<>(); // agent thread only
    private List<Member> deliveredHosts = List.of(); // agent thread only
    private volatile SessionState state = SessionState.LOST;
    private volatile HostInfo registered;
    private volatile boolean closed;
    private CuratorCache hostsCache;
    private CuratorCache volumesCache;
    private long renewals;

    private ZooKeeperCluster(ZooKeeperClusterConfig config) {
        this.config = config;
        this.hostsPath = config.rootPath() + "/hosts";
        this.volumesPath = config.rootPath() + "/volumes";
        this.hostPath = hostsPath + "/" + config.hostId();
        this.leasePath = config.rootPath() + "/leases/" + config.hostId();
        this.leases = new LeaseTracker(System::nanoTime, (long) (config.sessionTimeout().toNanos() * config.leaseFraction()));
        this.agent = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "flashvisor-cluster-" + config.hostId());
            t.setDaemon(true);
            return t;
        });
        int connectMs = Math.toIntExact(config.connectionTimeout().toMillis());
        this.client = CuratorFrameworkFactory.builder()
                .connectString(config.connectString())
                .sessionTimeoutMs(Math.toIntExact(config.sessionTimeout().toMillis()))
                .connectionTimeoutMs(connectMs)
                .retryPolicy(new BoundedExponentialBackoffRetry(50, 500, 3))
                .connectionStateErrorPolicy(new StandardConnectionStateErrorPolicy())
                .connectionStateListenerManagerFactory(ConnectionStateListenerManagerFactory.standard)
                .build();
    }

    /**
     * Connects to the ensemble and waits until the session is up and the base paths exist; fails
     * with {@code UNAVAILABLE} after the connection timeout. The lease comes with {@link #register}.
     */
    public static ZooKeeperCluster connect(ZooKeeperClusterConfig config) {
        ZooKeeperCluster c = new ZooKeeperCluster(config);
        try {
            c.start();
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private void start() {
        client.getConnectionStateListenable().addListener((cf, s) -> onConnectionState(s));
        client.start();
        long waitMs = config.connectionTimeout().toMillis();
        try {
            if (!client.blockUntilConnected(Math.toIntExact(waitMs), TimeUnit.MILLISECONDS)
                    || !firstConnection.await(waitMs, TimeUnit.MILLISECONDS)) {
                throw new ClusterException(ClusterException.Reason.UNAVAILABLE,
                        "cannot reach ZooKeeper at " + config.connectString() + " within " + config.connectionTimeout());
            }
            for (String p : List.of(hostsPath, volumesPath, config.rootPath() + "/leases")) {
                try {
                    client.create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT).forPath(p);
                } catch (KeeperException.NodeExistsException e) {
                    // made by another host: fine
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClusterException(ClusterException.Reason.UNAVAILABLE, "interrupted while connecting", e);
        } catch (ClusterException e) {
            throw e;
        } catch (Exception e) {
            throw unavailable("connect", e);
        }
        hostsCache = CuratorCache.build(client, hostsPath);
        hostsCache.listenable().addListener(CuratorCacheListener.builder().forAll((t, o, n) -> deliverHosts()).build(), agent);
        volumesCache = CuratorCache.build(client, volumesPath);
        volumesCache.listenable().addListener(CuratorCacheListener.builder()
                .forAll((t, o, n) -> deliverVolume(n != null ? n : o, n == null)).build(), agent);
        hostsCache.start();
        volumesCache.start();
        long period = Math.max(1, leases.leaseNanos() / 3);
        agent.scheduleAtFixedRate(this::renewLease, period, period, TimeUnit.NANOSECONDS);
        agent.execute(this::renewLease);
    }

    // ---- connection state and lease ----

    /** Runs on Curator's connection-state thread: fence first, then tell listeners on the agent thread. */
    private void onConnectionState(ConnectionState s) {
        SessionEvent event;
        switch (s) {
            case CONNECTED, RECONNECTED -> {
                long sid = currentSessionId();
                boolean newSession = sid != leases.sessionId();
                leases.connected(sid);
                state = s == ConnectionState.CONNECTED ? SessionState.CONNECTED : SessionState.RECONNECTED;
                event = new SessionEvent(state, sid, s == ConnectionState.RECONNECTED && newSession);
                firstConnection.countDown();
                if (newSession) {
                    long negotiated = negotiatedTimeoutMs();
                    LOG.info("host {}: ZooKeeper session 0x{} ({}), negotiated session timeout {} ms", config.hostId(),
                            Long.toHexString(sid), s, negotiated);
                    if (negotiated > 0 && negotiated < config.sessionTimeout().toMillis()) {
                        LOG.warn("host {}: ZooKeeper granted a session timeout of {} ms instead of {}: the lease shortens"
                                + " to match; raise the servers' maxSessionTimeout (20 x tickTime by default)",
                                config.hostId(), negotiated, config.sessionTimeout().toMillis());
                    }
                }
                agent.execute(this::renewLease);
                if (newSession && registered != null) {
                    agent.execute(this::reRegister);
                }
            }
            case SUSPENDED, READ_ONLY -> {
                leases.suspended();
                state = SessionState.SUSPENDED;
                event = new SessionEvent(state, leases.sessionId(), false);
                LOG.warn("host {}: ZooKeeper connection in doubt (session 0x{}): not acting until reconnected",
                        config.hostId(), Long.toHexString(leases.sessionId()));
            }
            default -> {
                leases.lost();
                state = SessionState.LOST;
                event = new SessionEvent(state, leases.sessionId(), false);
                LOG.warn("host {}: ZooKeeper session 0x{} lost: its membership and ownership claims are void",
                        config.hostId(), Long.toHexString(leases.sessionId()));
            }
        }
        execute(() -> fire(l -> l.sessionChanged(event)));
    }

    /**
     * Rewrites this host's lease record. The answer proves the leader saw the session alive after
     * {@code sentAt}; the node's ephemeral owner proves it was this session (Curator may retry a
     * background write after reconnecting, possibly in a newer session).
     */
    private void renewLease() {
        long sid = leases.sessionId();
        if (closed || !leases.connected() || sid == 0) {
            return;
        }
        long sentAt = System.nanoTime();
        byte[] data = ByteBuffer.allocate(Long.BYTES).putLong(++renewals).array();
        try {
            client.setData().inBackground((cf, e) -> onRenewed(e, sid, sentAt)).forPath(leasePath, data);
        } catch (Exception e) {
            LOG.debug("lease renewal not sent", e);
        }
    }

    private void onRenewed(CuratorEvent e, long sid, long sentAt) {
        int rc = e.getResultCode();
        if (rc == KeeperException.Code.OK.intValue() && e.getStat() != null && e.getStat().getEphemeralOwner() == sid) {
            long t = negotiatedTimeoutMs();
            long leaseNanos = t > 0 ? (long) (TimeUnit.MILLISECONDS.toNanos(t) * config.leaseFraction()) : leases.leaseNanos();
            leases.renewed(sid, sentAt, Math.min(leaseNanos, leases.leaseNanos()));
        } else if (rc == KeeperException.Code.NONODE.intValue()) {
            try { // first renewal in this session: make the lease record, then renew again at once
                client.create().withMode(CreateMode.EPHEMERAL).inBackground((cf, c) -> {
                    if (c.getResultCode() == KeeperException.Code.OK.intValue()) {
                        execute(this::renewLease);
                    }
                }).forPath(leasePath);
            } catch (Exception ex) {
                LOG.debug("lease record not created", ex);
            }
        }
        // NODEEXISTS / other owner: an older incarnation's session still holds the record; no lease until it expires.
    }

    private long currentSessionId() {
        try {
            return client.getZookeeperClient().getZooKeeper().getSessionId();
        } catch (Exception e) {
            return 0;
        }
    }

    private long negotiatedTimeoutMs() {
        try {
            return client.getZookeeperClient().getZooKeeper().getSessionTimeout();
        } catch (Exception e) {
            return 0;
        }
    }

    // ---- membership ----

    @Override
    public String hostId() {
        return config.hostId();
    }

    @Override
    public void register(HostInfo self) {
        requireSameHost(self);
        requireOpen();
        registered = self;
        long end = System.nanoTime() + config.sessionTimeout().plus(config.connectionTimeout()).toNanos();
        // Both the host record and the lease record may still belong to an older incarnation's
        // session; they free up when it expires, within one session timeout.
        boolean created = false;
        while (!(created = created || tryCreateHostNode(self)) || !leases.lease().isValid()) {
            if (System.nanoTime() - end > 0) {
                throw new ClusterException(ClusterException.Reason.HOST_ID_TAKEN, "host id " + config.hostId()
                        + " is still held by another ZooKeeper session after " + config.sessionTimeout()
                        + ": a duplicate host id, or an older incarnation that is still alive");
            }
            sleep(Math.max(5, config.sessionTimeout().toMillis() / 50));
        }
    }

    /** True once the host record exists and belongs to this client's current session. */
    private boolean tryCreateHostNode(HostInfo self) {
        long sid = currentSessionId();
        byte[] data = RecordCodec.encode(self);
        try {
            client.create().withMode(CreateMode.EPHEMERAL).forPath(hostPath, data);
            return true;
        } catch (KeeperException.NodeExistsException e) {
            try { // ours already (a create retried after a lost answer), or an older incarnation's
                Stat st = client.checkExists().forPath(hostPath);
                if (st != null && st.getEphemeralOwner() == sid) {
                    client.setData().forPath(hostPath, data);
                    return true;
                }
                return false;
            } catch (Exception ex) {
                return false;
            }
        } catch (Exception e) {
            LOG.debug("host record not created", e);
            return false;
        }
    }

    /** After a new session (agent thread): keep trying until registered, closed, or the session changes again. */
    private void reRegister() {
        HostInfo self = registered;
        if (closed || self == null || !leases.connected()) {
            return;
        }
        if (!tryCreateHostNode(self)) {
            agent.schedule(this::reRegister, Math.max(10, config.sessionTimeout().toMillis() / 10), TimeUnit.MILLISECONDS);
        } else {
            LOG.info("host {}: re-registered in session 0x{}", config.hostId(), Long.toHexString(leases.sessionId()));
        }
    }

    @Override
    public void updateHost(HostInfo self) {
        requireSameHost(self);
        requireOpen();
        try {
            Stat st = client.checkExists().forPath(hostPath);
            if (st == null || st.getEphemeralOwner() != currentSessionId()) {
                throw new ClusterException(ClusterException.Reason.NOT_ACTING,
                        "host " + config.hostId() + " is not registered in its current session");
            }
            client.setData().withVersion(st.getVersion()).forPath(hostPath, RecordCodec.encode(self));
            registered = self;
        } catch (ClusterException e) {
            throw e;
        } catch (Exception e) {
            throw unavailable("update host " + config.hostId(), e);
        }
    }

    @Override
    public List<Member> hosts() {
        requireOpen();
        List<Member> out = new ArrayList<>();
        try {
            for (String child : client.getChildren().forPath(hostsPath)) {
                String path = hostsPath + "/" + child;
                Stat st = new Stat();
                try {
                    byte[] data = client.getData().storingStatIn(st).forPath(path);
                    out.add(new Member(RecordCodec.decodeHost(path, data), st.getEphemeralOwner()));
                } catch (KeeperException.NoNodeException gone) {
                    // left between listing and reading
                } catch (ClusterException corrupt) {
                    LOG.warn("ignoring host record: {}", corrupt.getMessage());
                }
            }
        } catch (Exception e) {
            throw unavailable("list hosts", e);
        }
        out.sort(Comparator.comparing(Member::hostId));
        return List.copyOf(out);
    }

    // ---- volume records ----

    @Override
    public VolumeRecord createVolume(VolumeRecord initial) {
        requireOpen();
        try {
            client.create().withMode(CreateMode.PERSISTENT).forPath(volumePath(initial.name()), RecordCodec.encode(initial));
            return initial.withVersion(0);
        } catch (KeeperException.NodeExistsException e) {
            throw new ClusterException(ClusterException.Reason.ALREADY_EXISTS, "volume " + initial.name() + " exists already");
        } catch (Exception e) {
            throw unavailable("create volume " + initial.name(), e);
        }
    }

    @Override
    public Optional<VolumeRecord> volume(String name) {
        requireOpen();
        String path = volumePath(name);
        try {
            Stat st = new Stat();
            byte[] data = client.getData().storingStatIn(st).forPath(path);
            return Optional.of(RecordCodec.decodeVolume(path, data, st.getVersion()));
        } catch (KeeperException.NoNodeException e) {
            return Optional.empty();
        } catch (ClusterException e) {
            throw e;
        } catch (Exception e) {
            throw unavailable("read volume " + name, e);
        }
    }

    @Override
    public List<VolumeRecord> volumes() {
        requireOpen();
        List<String> names;
        try {
            names = new ArrayList<>(client.getChildren().forPath(volumesPath));
        } catch (Exception e) {
            throw unavailable("list volumes", e);
        }
        names.sort(null);
        List<VolumeRecord> out = new ArrayList<>();
        for (String n : names) {
            try {
                volume(n).ifPresent(out::add);
            } catch (ClusterException e) {
                if (e.reason() != ClusterException.Reason.CORRUPT_RECORD) {
                    throw e;
                }
                LOG.warn("ignoring volume record: {}", e.getMessage());
            }
        }
        return List.copyOf(out);
    }

    @Override
    public CasOutcome compareAndSet(VolumeRecord expected, VolumeRecord next) {
        RecordRules.checkUpdate(expected, next);
        requireOpen();
        try {
            Stat st = client.setData().withVersion(Math.toIntExact(expected.version()))
                    .forPath(volumePath(expected.name()), RecordCodec.encode(next));
            return CasOutcome.won(next.withVersion(st.getVersion()));
        } catch (KeeperException.BadVersionException e) {
            VolumeRecord current = volume(expected.name()).orElse(null);
            // Curator retries a write whose answer was lost with the connection; if the first try
            // was applied, the retry meets its own result as a version conflict. Recognise it.
            if (current != null && current.version() == expected.version() + 1 && current.sameContent(next)) {
                return CasOutcome.won(current);
            }
            return CasOutcome.lost(current);
        } catch (KeeperException.NoNodeException e) {
            return CasOutcome.lost(null);
        } catch (Exception e) {
            throw unavailable("update volume " + expected.name() + " (outcome unknown: re-read it)", e);
        }
    }

    @Override
    public boolean deleteVolume(VolumeRecord expected) {
        requireOpen();
        try {
            client.delete().withVersion(Math.toIntExact(expected.version())).forPath(volumePath(expected.name()));
            return true;
        } catch (KeeperException.BadVersionException | KeeperException.NoNodeException e) {
            return false;
        } catch (Exception e) {
            throw unavailable("delete volume " + expected.name(), e);
        }
    }

    private String volumePath(String name) {
        HostInfo.requireName("volume name", name);
        return volumesPath + "/" + name;
    }

    // ---- session, lease, listeners ----

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

    /** Agent thread: tell listeners about membership if it differs from what they last heard. */
    private void deliverHosts() {
        List<Member> live = new ArrayList<>();
        hostsCache.stream().filter(d -> hostsPath.equals(ZKPaths.getPathAndNode(d.getPath()).getPath())).forEach(d -> {
            try {
                live.add(new Member(RecordCodec.decodeHost(d.getPath(), d.getData()), d.getStat().getEphemeralOwner()));
            } catch (ClusterException corrupt) {
                LOG.warn("ignoring host record: {}", corrupt.getMessage());
            }
        });
        live.sort(Comparator.comparing(Member::hostId));
        List<Member> snapshot = List.copyOf(live);
        if (!snapshot.equals(deliveredHosts)) {
            deliveredHosts = snapshot;
            fire(l -> l.hostsChanged(snapshot));
        }
    }

    /** Agent thread: one volume record changed (or was deleted). */
    private void deliverVolume(ChildData d, boolean deleted) {
        if (d == null || volumesPath.equals(d.getPath())) {
            return;
        }
        String name = ZKPaths.getNodeFromPath(d.getPath());
        VolumeRecord r = null;
        if (!deleted) {
            try {
                r = RecordCodec.decodeVolume(d.getPath(), d.getData(), d.getStat().getVersion());
            } catch (ClusterException corrupt) {
                LOG.warn("ignoring volume record: {}", corrupt.getMessage());
                return;
            }
        }
        if (Objects.equals(deliveredVolumes.get(name), r)) {
            return;
        }
        if (r == null) {
            deliveredVolumes.remove(name);
        } else {
            deliveredVolumes.put(name, r);
        }
        VolumeRecord record = r;
        fire(l -> l.volumeChanged(name, record));
    }

    private void fire(Consumer<ClusterListener> call) {
        if (closed) {
            return;
        }
        for (ClusterListener l : listeners) {
            try {
                call.accept(l);
            } catch (RuntimeException e) {
                LOG.error("cluster listener of host {} failed", config.hostId(), e);
            }
        }
    }

    private void execute(Runnable r) {
        try {
            agent.execute(r);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closing: nothing more to tell
        }
    }

    /** The session id of this client now (0 when none), for tests and status. */
    public long sessionId() {
        return leases.sessionId();
    }

    /** The Curator client, for the composition root's own recipes (not for changing records). */
    public CuratorFramework curator() {
        return client;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        leases.lost();
        Throwable first = null;
        for (AutoCloseable c : new AutoCloseable[] {hostsCache, volumesCache, client}) {
            try {
                if (c != null) {
                    c.close(); // closing the client ends the session: the host record vanishes at once
                }
            } catch (Exception | Error e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        agent.shutdownNow();
        try {
            agent.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        state = SessionState.LOST;
        if (first != null) {
            LOG.warn("host {}: error while closing the cluster client", config.hostId(), first);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new ClusterException(ClusterException.Reason.CLOSED, "the cluster client of host " + config.hostId() + " is closed");
        }
    }

    private void requireSameHost(HostInfo self) {
        if (!self.hostId().equals(config.hostId())) {
            throw new IllegalArgumentException("this client acts for host " + config.hostId() + ", not " + self.hostId());
        }
    }

    private ClusterException unavailable(String what, Exception e) {
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        return new ClusterException(ClusterException.Reason.UNAVAILABLE,
                "cannot " + what + " on ZooKeeper at " + config.connectString() + ": " + e, e);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClusterException(ClusterException.Reason.UNAVAILABLE, "interrupted", e);
        }
    }

    @Override
    public String toString() {
        return "ZooKeeperCluster[" + config.hostId() + "@" + config.connectString() + ", " + state + "]";
    }
}
