package io.flashvisor.replication.sim;

import io.flashvisor.cluster.CasOutcome;
import io.flashvisor.cluster.Cluster;
import io.flashvisor.cluster.ClusterException;
import io.flashvisor.cluster.HostInfo;
import io.flashvisor.cluster.InMemoryCluster;
import io.flashvisor.cluster.Lease;
import io.flashvisor.cluster.ManualClock;
import io.flashvisor.cluster.Member;
import io.flashvisor.cluster.RecordRules;
import io.flashvisor.cluster.ReplicaPlacement;
import io.flashvisor.cluster.VolumeRecord;
import io.flashvisor.cluster.VolumeState;
import io.flashvisor.replication.owner.ReleaseTracker;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * One seeded run of the write-back replication protocol: hosts A, B, C and one volume, all in one
 * thread. Real: {@link InMemoryCluster} + {@link ManualClock} (sessions, leases, CAS records, claim
 * rules), {@link ReleaseTracker}, {@link ReplicaPlacement}, {@link RecordRules}. Modelled here:
 * the owner's flash log (volatile tail lost on crash), the destager, the holders' replica stores
 * (rules of ReplicaStore/FlashReplicaSink), the takeover (TakeoverWatcher/Takeover/TakeoverDestage),
 * the returning host's reconcile (VolumeOwnership.reconcile), the peer network and a backing store
 * that records every write. Checkers I1–I4 run after every step; see docs/replication.md
 * "Deterministic simulation".
 */
final class Sim {
    static final String VOL = "vol";
    static final int BLOCKS = 4;
    static final long NO_EPOCH = -1L;
    static final List<String> IDS = List.of("A", "B", "C");

    /**
     * A rule the simulated hosts follow differently from the product: a planted bug (negative control)
     * or a rule as it was before a seed showed it wrong. {@link Config#product()} has none.
     */
    enum Deviation {
        /** Planted: a holder acknowledges a replica before it is durable. */
        ACK_BEFORE_REPLICA_DURABLE,
        /** Planted: the destager and the takeover write to the backing store without checking their lease. */
        DESTAGE_WITHOUT_FENCE,
        /** Planted: a returning host keeps recovered dirty data although another host took the volume over. */
        KEEP_STALE_DIRTY(1_004),
        /** Old rule: "may act" was the lease of the host's CURRENT session, not of the session that won the epoch. */
        CURRENT_SESSION_LEASE,
        /**
         * Old rules, the takeover as first built (seed 16): no resume; reconcile keeps data only for the named owner;
         * claim of an unclean volume allowed; obsolete = origin not owner; write-through without leaving the set.
         */
        FIRST_BUILD,
        /** Old rule (seed 1135): record members down at a returning owner's claim stayed in the replica set. */
        ABSENT_MEMBER_KEPT(3_489),
        /** Old rule (seed 1766): a peer new to the replica set kept the owner's replicas of earlier epochs. */
        STALE_REPLICAS_ON_JOIN(6_712),
        /**
         * Old rule (seeds 659, 13584): an owner returning with recovered dirty data claimed the volume back during an
         * unfinished takeover — its fresh peers dropped the recovered data's second copies, or its destage replayed
         * older flush epochs over blocks the interrupted takeover had already written newer.
         */
        RECLAIM_DURING_TAKEOVER,
        /**
         * Old rule (seed 4834): recovered dirty data was reconciled only at the restart; kept during a takeover that
         * then finished, it was later claimed and destaged as if current (the product reconciles right before it
         * claims, and claims against the record it reconciled with).
         */
        NO_RECONCILE_AT_CLAIM(3_011),
        /** Old rule (seed 19238): a fresh peer that could not be reached at the claim stayed in the record's set. */
        UNREACHABLE_PEER_IN_SET(10_181),
        /** Planted: a peer re-added to the replica set mid-epoch keeps the owner's replicas from its earlier stint. */
        STALE_REPLICAS_ON_REPAIR(3_581),
        /**
         * Old rule (seed 8100): a holder left out of the replica set released the still-owning origin's replicas up to
         * the end of its epoch — so after re-replication added it back in that epoch, it ignored (yet acknowledged)
         * the new writes.
         */
        RELEASE_WHILE_ORIGIN_OWNS(48_513),
        /**
         * Old rule (seed 37569): replicas were released, and writes that waited for the backing store acknowledged,
         * before the CLEAN records were on flash; a crash then replayed older flush epochs over newer data.
         */
        RELEASE_BEFORE_CLEAN_DURABLE(37_569),
        /** Old rule (seed 784): obsolete replicas were released up to "everything", so a later epoch's were ignored. */
        RELEASE_EVERYTHING(62_423);

        /** A seed that shows this deviation, tried first (0: the sweep finds one within a few hundred seeds). */
        final long knownSeed;

        Deviation() {
            this(0);
        }

        Deviation(long knownSeed) {
            this.knownSeed = knownSeed;
        }
    }

    record Config(Set<Deviation> deviations) {
        static Config product() {
            return new Config(Set.of());
        }

        static Config with(Deviation d) {
            return new Config(Set.of(d));
        }

        boolean has(Deviation d) {
            return deviations.contains(d);
        }
    }

    static final class Violation extends RuntimeException {
        Violation(String m) {
            super(m);
        }
    }

    /** One client write: its identity orders versions of a block (issue order = origin sequence order). */
    record W(int ver, int block, long seq, long flushEpoch, long ownerEpoch, String origin) {
    }

    // ---- flash records ----
    record DataRec(W w) {
    }

    record CleanRec(int block, int upToVer) {
    }

    record InvalRec() {
    }

    record ReplRec(W w) {
    }

    record RelRec(String origin, long upToSeq, long epoch) {
    }

    record NoteRec(long epoch) {
    }

    // ---- network ----
    enum Kind { REPL, ACK, NACK, REL }

    record Msg(Kind kind, String from, String to, W w, long epoch, long upTo, long incarnation, long deliverAt) {
    }

    final class Pending {
        final W w;
        boolean localDurable;
        final Set<String> acks = new HashSet<>();
        final Set<String> sentTo = new HashSet<>();
        final Set<String> failed = new HashSet<>();
        boolean missing; // fewer peers than promised
        boolean awaitingClean; // a copy is missing: acknowledged once the destager has put its block on the backing store

        Pending(W w) {
            this.w = w;
        }
    }

    final class Owner {
        final long epoch;
        final long incarnation;
        final Lease lease;
        final ReleaseTracker tracker;
        final List<String> peers;
        final Map<String, Long> joinedAfter = new HashMap<>(); // peers added mid-epoch (ReplicaSet.add)
        final Set<String> absent = new HashSet<>(); // record members down at the claim (ReplicaSet's absent)
        final Set<String> closed = new HashSet<>();
        long flushEpoch;
        final List<Pending> pending = new ArrayList<>();
        List<W> batch;
        int batchIdx;

        Owner(long epoch, Lease lease, List<String> peers, long flushEpoch) {
            this.epoch = epoch;
            this.incarnation = ++incarnations;
            this.lease = lease;
            this.tracker = ReleaseTracker.forEpoch(epoch);
            this.peers = new ArrayList<>(peers);
            this.flushEpoch = flushEpoch;
        }
    }

    final class Takeover {
        final long epoch;
        final Lease lease;
        final VolumeRecord won;
        final List<W> versions;
        final Map<String, Long> maxSeq;
        int idx;
        boolean flushed;

        Takeover(long epoch, Lease lease, VolumeRecord won, List<W> versions, Map<String, Long> maxSeq) {
            this.epoch = epoch;
            this.lease = lease;
            this.won = won;
            this.versions = versions;
            this.maxSeq = maxSeq;
        }
    }

    final class Host {
        final String id;
        boolean up = true;
        boolean paused;
        Cluster zk;
        final List<Object> log = new ArrayList<>();
        int durable;
        // derived from the log (owner side): flush epoch -> block -> newest durable dirty version
        final TreeMap<Long, TreeMap<Integer, W>> dirty = new TreeMap<>(Long::compareUnsigned);
        // replica side: origin -> block -> newest live replica; release thresholds; highest epoch seen
        final Map<String, TreeMap<Integer, W>> replicas = new TreeMap<>();
        final Map<String, Long> releasedUpTo = new HashMap<>();
        long highestEpoch;
        final List<Msg> ackWhenDurable = new ArrayList<>();
        Owner owner;
        Takeover takeover;

        Host(String id) {
            this.id = id;
        }

        boolean acts() {
            return up && !paused;
        }

        long maxFlushEpoch() {
            long m = 0;
            for (Object o : log.subList(0, durable)) {
                if (o instanceof DataRec d) {
                    m = Math.max(m, d.w.flushEpoch);
                }
            }
            return m;
        }

        void applyDurable(Object o) {
            switch (o) {
                case DataRec d -> dirty.computeIfAbsent(d.w.flushEpoch, k -> new TreeMap<>()).merge(d.w.block, d.w,
                        (a, b) -> a.seq >= b.seq && a.ver >= b.ver ? a : b);
                case CleanRec c -> cleanBlock(c.block, c.upToVer);
                case InvalRec i -> dirty.clear();
                case ReplRec r -> {
                    highestEpoch = Math.max(highestEpoch, r.w.ownerEpoch);
                    if (r.w.seq > releasedUpTo.getOrDefault(r.w.origin, 0L)) {
                        replicas.computeIfAbsent(r.w.origin, k -> new TreeMap<>()).merge(r.w.block, r.w,
                                (a, b) -> a.seq >= b.seq ? a : b);
                    }
                }
                case RelRec r -> release(r.origin, r.upToSeq);
                case NoteRec n -> highestEpoch = Math.max(highestEpoch, n.epoch);
                default -> throw new IllegalStateException();
            }
        }

        void cleanBlock(int block, int upToVer) {
            for (var it = dirty.values().iterator(); it.hasNext(); ) {
                TreeMap<Integer, W> m = it.next();
                W w = m.get(block);
                if (w != null && w.ver <= upToVer) {
                    m.remove(block);
                }
                if (m.isEmpty()) {
                    it.remove();
                }
            }
        }

        void release(String origin, long upTo) {
            releasedUpTo.merge(origin, upTo, Math::max);
            TreeMap<Integer, W> m = replicas.get(origin);
            if (m != null) {
                m.values().removeIf(w -> w.seq <= upTo);
                if (m.isEmpty()) {
                    replicas.remove(origin);
                }
            }
        }

        /** Appends a record whose effect is visible at once (clean markers, releases: losing them is safe). */
        void appendApplied(Object o) {
            log.add(o);
            applyDurable(o);
        }

        void rebuild() {
            dirty.clear();
            replicas.clear();
            releasedUpTo.clear();
            highestEpoch = 0;
            log.subList(durable, log.size()).clear();
            for (Object o : log) {
                applyDurable(o);
            }
        }

        long oldestDirtyEpoch() {
            return dirty.isEmpty() ? NO_EPOCH : dirty.firstKey();
        }
    }

    // ---- state ----
    final long seed;
    final Config cfg;
    final SplittableRandom rnd;
    final ManualClock clock = new ManualClock();
    final InMemoryCluster zk = new InMemoryCluster(clock, Duration.ofSeconds(6));
    final Map<String, Host> hosts = new LinkedHashMap<>();
    final Map<String, ArrayDeque<Msg>> links = new TreeMap<>(); // "A>B" -> FIFO
    final Set<String> cut = new HashSet<>(); // replication network partitions, "AB"
    final int replicas;
    final List<String> trace = new ArrayList<>();
    final Map<Integer, W> writes = new HashMap<>();
    final Set<Integer> acked = new HashSet<>();
    final int[] newestAcked = new int[BLOCKS];
    final List<List<Integer>> backingHistory = new ArrayList<>();
    long maxDestageEpoch;
    int versions;
    long incarnations;
    int stepNo;
    long ackedCount;

    Sim(long seed, Config cfg) {
        this.seed = seed;
        this.cfg = cfg;
        this.rnd = new SplittableRandom(seed);
        this.replicas = 1 + rnd.nextInt(2);
        for (int b = 0; b < BLOCKS; b++) {
            backingHistory.add(new ArrayList<>(List.of(0)));
        }
        for (String id : IDS) {
            Host h = new Host(id);
            hosts.put(id, h);
            h.zk = zk.connect(id);
            h.zk.register(info(id));
        }
        hosts.get("A").zk.createVolume(VolumeRecord.create(VOL, "write-back", replicas));
        log("start seed=" + seed + " replicas=" + replicas);
        startOwner(hosts.get("A"));
    }

    static HostInfo info(String id) {
        return new HostInfo(id, id.toLowerCase() + ":7000", 1 << 30, 1 << 29, "rack-" + id);
    }

    void log(String s) {
        trace.add(String.format("#%d t=%dms %s", stepNo, clock.nanos() / 1_000_000, s));
    }

    VolumeRecord record() {
        return zkServerView();
    }

    /** The record as the servers hold it (read through any reachable client; the checkers only). */
    private VolumeRecord zkServerView() {
        for (Host h : hosts.values()) {
            if (h.up && h.zk != null) {
                try {
                    return h.zk.volume(VOL).orElseThrow();
                } catch (ClusterException e) {
                    // unreachable client: try another
                }
            }
        }
        return null;
    }

    boolean ownerLive(VolumeRecord r) {
        for (Host h : hosts.values()) {
            if (h.up && h.zk != null) {
                try {
                    return RecordRules.ownerLive(r, h.zk.hosts());
                } catch (ClusterException e) {
                    // try another
                }
            }
        }
        return false;
    }

    /** The owner's "may act" (CachedVolume: replication.mayAct() = cluster::mayAct, the current session's lease). */
    boolean ownerMayAct(Host h, Owner o) {
        return cfg.has(Deviation.CURRENT_SESSION_LEASE) ? h.zk != null && h.zk.mayAct() : o.lease.isValid();
    }

    /** The takeover's "may act" before each backing write (TakeoverDestage: cluster::mayAct). */
    boolean takeoverMayAct(Host h, Takeover t) {
        return cfg.has(Deviation.CURRENT_SESSION_LEASE) ? h.zk != null && h.zk.mayAct() : t.lease.isValid();
    }

    // =====================================================================================
    // the run

    void run(int steps) {
        for (stepNo = 1; stepNo <= steps; stepNo++) {
            step();
            check();
        }
    }

    private void step() {
        List<Runnable> enabled = new ArrayList<>();
        List<Integer> weights = new ArrayList<>();
        for (Host h : hosts.values()) {
            Owner o = h.owner;
            if (h.acts() && o != null) {
                add(enabled, weights, 12, () -> clientWrite(h));
                add(enabled, weights, 2, () -> {
                    o.flushEpoch++;
                    log(h.id + " client FLUSH -> flush epoch " + o.flushEpoch);
                });
                add(enabled, weights, 6, () -> destage(h));
                if (o.peers.size() + o.absent.size() < replicas) {
                    add(enabled, weights, 2, () -> repair(h));
                }
            }
            if (h.acts()) {
                add(enabled, weights, 8, () -> sync(h));
                add(enabled, weights, 3, () -> watcher(h));
                if (h.takeover != null) {
                    add(enabled, weights, 8, () -> takeoverStep(h));
                }
                if (h.owner == null && h.takeover == null) {
                    add(enabled, weights, 2, () -> vmStart(h));
                }
                add(enabled, weights, 1, () -> crash(h));
                if (!cfg.has(Deviation.FIRST_BUILD)) {
                    add(enabled, weights, 1, () -> gracefulStop(h));
                }
                add(enabled, weights, 1, () -> pause(h));
                add(enabled, weights, 1, () -> {
                    log("ZK partition " + h.id);
                    zk.partition(h.id);
                });
            }
            if (h.up && h.paused) {
                add(enabled, weights, 3, () -> wake(h));
            }
            if (h.up && !h.paused) {
                add(enabled, weights, 2, () -> {
                    log("ZK heal " + h.id);
                    zk.heal(h.id);
                });
            }
            if (!h.up) {
                add(enabled, weights, 3, () -> restart(h));
            }
        }
        add(enabled, weights, 14, this::deliver);
        add(enabled, weights, 2, this::delay);
        add(enabled, weights, 1, this::drop);
        add(enabled, weights, 1, this::partitionLink);
        add(enabled, weights, 2, this::healLink);
        add(enabled, weights, 8, this::advance);
        int total = weights.stream().mapToInt(Integer::intValue).sum();
        int pick = rnd.nextInt(total);
        for (int i = 0; i < enabled.size(); i++) {
            pick -= weights.get(i);
            if (pick < 0) {
                enabled.get(i).run();
                break;
            }
        }
        settleWrites();
    }

    private static void add(List<Runnable> e, List<Integer> w, int weight, Runnable r) {
        e.add(r);
        w.add(weight);
    }

    // ---- clock ----
    private void advance() {
        long ms = 100 + rnd.nextInt(2500);
        clock.advance(Duration.ofMillis(ms));
        zk.tick();
        log("clock +" + ms + "ms");
    }

    // ---- owner: claim / start ----
    private void startOwner(Host h) {
        List<Member> live = h.zk.hosts();
        // VolumeOwnership.claim: a returning owner with recovered dirty data keeps its replica set as it is, live or not.
        VolumeRecord before = h.zk.volume(VOL).orElseThrow();
        ReplicaPlacement.Placement p;
        boolean keptSet = !h.dirty.isEmpty() && before != null && h.id.equals(before.owner()) && !before.replicaSet().isEmpty()
                && !cfg.has(Deviation.FIRST_BUILD);
        if (keptSet) {
            long liveMembers = before.replicaSet().stream().filter(k -> live.stream().anyMatch(m -> m.hostId().equals(k))).count();
            p = new ReplicaPlacement.Placement(before.replicaSet(), (int) Math.max(0, replicas - liveMembers), false);
        } else {
            p = ReplicaPlacement.choose(h.id, replicas, live);
        }
        // VolumeOwnership.join, before the claim: a peer that cannot be reached (down, stopped, cut off) is absent; a
        // fresh peer first releases, durably, this host's replicas of earlier epochs; only a kept set keeps absent members.
        long epoch = before.epoch() + 1;
        List<String> connected = new ArrayList<>();
        List<String> members = new ArrayList<>();
        for (String k : p.peers()) {
            Host peer = hosts.get(k);
            boolean reachable = live.stream().anyMatch(m -> m.hostId().equals(k)) && peer.acts() && !cut.contains(pair(h.id, k));
            if (reachable) {
                if (!keptSet && !cfg.has(Deviation.STALE_REPLICAS_ON_JOIN)) {
                    peer.appendApplied(new RelRec(h.id, ReleaseTracker.lastSequenceOf(epoch - 1), epoch));
                    sync(peer);
                }
                connected.add(k);
                members.add(k);
            } else if (keptSet || cfg.has(Deviation.UNREACHABLE_PEER_IN_SET)) {
                members.add(k);
            }
        }
        CasOutcome c;
        try {
            c = h.zk.claimOwnership(before, connected.size() >= replicas ? VolumeState.ACTIVE : VolumeState.DEGRADED, members);
        } catch (ClusterException e) {
            log(h.id + " claim refused: " + e.reason());
            return;
        }
        if (!c.won()) {
            log(h.id + " claim lost: owner " + c.current().owner() + " epoch " + c.current().epoch());
            return;
        }
        h.owner = new Owner(epoch, h.zk.lease(), connected, h.maxFlushEpoch() + 1);
        if (!cfg.has(Deviation.ABSENT_MEMBER_KEPT)) {
            members.stream().filter(k -> !connected.contains(k)).forEach(h.owner.absent::add);
        }
        log(h.id + " OWNS epoch " + epoch + " set " + members + " connected " + connected + (keptSet ? " (kept set)" : ""));
    }

    /**
     * CachedVolume.repair / VolumeOwnership.addPeer: a live, reachable host outside the replica set releases this
     * owner's replicas up to the last sequence used (durably), joins the record by CAS, and counts for later writes.
     */
    private void repair(Host h) {
        Owner o = h.owner;
        if (!ownerMayAct(h, o)) {
            return;
        }
        VolumeRecord r;
        List<Member> live;
        try {
            r = h.zk.volume(VOL).orElseThrow();
            live = h.zk.hosts();
        } catch (ClusterException e) {
            return;
        }
        if (!h.id.equals(r.owner()) || r.epoch() != o.epoch || r.replicaSet().size() >= replicas) {
            return;
        }
        for (Member m : live) {
            String k = m.hostId();
            Host peer = hosts.get(k);
            if (k.equals(h.id) || r.replicaSet().contains(k) || !peer.acts() || cut.contains(pair(h.id, k))) {
                continue;
            }
            long upTo = o.tracker.lastSequence();
            if (!cfg.has(Deviation.STALE_REPLICAS_ON_REPAIR)) {
                peer.appendApplied(new RelRec(h.id, upTo, o.epoch));
                sync(peer);
            }
            List<String> set = new ArrayList<>(r.replicaSet());
            set.add(k);
            CasOutcome c;
            try {
                c = h.zk.compareAndSet(r, r.withState(set.size() >= replicas ? VolumeState.ACTIVE : VolumeState.DEGRADED, set));
            } catch (ClusterException e) {
                return;
            }
            if (c.won()) {
                o.peers.add(k);
                o.joinedAfter.put(k, upTo);
                o.closed.remove(k);
                log(h.id + " REPAIR: " + k + " joined the replica set " + set + " after seq " + Long.toHexString(upTo));
            }
            return;
        }
    }

    /** The VM (re)starts on host h: VolumeOwnership.reconcile was done at restart; now claim. */
    private void vmStart(Host h) {
        if (hosts.values().stream().anyMatch(x -> x.owner != null && x.up && x.owner.lease.isValid())) {
            return; // the VM runs on one host at a time while its owner serves it
        }
        VolumeRecord r;
        try {
            r = h.zk.volume(VOL).orElseThrow();
        } catch (ClusterException e) {
            return;
        }
        if (!cfg.has(Deviation.NO_RECONCILE_AT_CLAIM)) {
            reconcile(h, r);
        }
        // VolumeOwnership.claim: refused while another host left the volume unclean or a takeover is unfinished
        if (!cfg.has(Deviation.FIRST_BUILD) && r.hasOwner() && r.state() != VolumeState.CLEAN
                && (h.dirty.isEmpty() || !cfg.has(Deviation.RECLAIM_DURING_TAKEOVER))
                && (!r.owner().equals(h.id) || r.state() == VolumeState.TAKEOVER)) {
            log(h.id + " VM start waits: volume " + r.state() + " owned by dead " + r.owner() + " must be taken over first");
            return;
        }
        log(h.id + " VM start (record owner " + r.owner() + " epoch " + r.epoch() + " " + r.state() + ")");
        startOwner(h);
    }

    // ---- owner: write path ----
    private void clientWrite(Host h) {
        Owner o = h.owner;
        List<Integer> free = new ArrayList<>();
        for (int b = 0; b < BLOCKS; b++) {
            int bb = b;
            if (o.pending.stream().noneMatch(p -> p.w.block == bb)) {
                free.add(b);
            }
        }
        if (free.isEmpty()) {
            return;
        }
        int block = free.get(rnd.nextInt(free.size()));
        long seq = o.tracker.assign(o.flushEpoch);
        W w = new W(++versions, block, seq, o.flushEpoch, o.epoch, h.id);
        writes.put(w.ver, w);
        h.log.add(new DataRec(w));
        Pending p = new Pending(w);
        o.pending.add(p);
        // ReplicaSet.replicate: a peer added after this write was numbered does not count for it
        List<String> eligible = o.peers.stream().filter(x -> seq > o.joinedAfter.getOrDefault(x, Long.MIN_VALUE)).toList();
        if (eligible.size() < replicas) {
            p.missing = true;
        }
        p.sentTo.addAll(eligible);
        p.failed.addAll(o.absent); // they miss this write: they must leave the record before it is acknowledged
        for (String peer : eligible) {
            if (o.closed.contains(peer)) {
                p.failed.add(peer);
            } else {
                send(new Msg(Kind.REPL, h.id, peer, w, o.epoch, 0, o.incarnation, 0));
            }
        }
        log(h.id + " write v" + w.ver + " block " + block + " seq " + Long.toHexString(seq) + " fe " + w.flushEpoch);
    }

    /** Completes writes whose copies are all in (or failed): the owner's rule in CachedVolume.dirtyInsert. */
    private void settleWrites() {
        for (Host h : hosts.values()) {
            Owner o = h.owner;
            if (o == null || !h.acts()) {
                continue;
            }
            for (var it = o.pending.iterator(); it.hasNext(); ) {
                Pending p = it.next();
                if (p.awaitingClean) {
                    // CachedVolume.writeThroughForMissingReplica: acknowledged once the whole volume is clean (every older
                    // epoch and this write destaged, in order); then the failed peers leave the replica set.
                    if (h.dirty.isEmpty()) {
                        if (!cfg.has(Deviation.RELEASE_BEFORE_CLEAN_DURABLE)) {
                            sync(h); // VolumeCache.cleanRecordsDurable before the acknowledgement
                        }
                        it.remove();
                        if (!ownerMayAct(h, o)) {
                            log(h.id + " v" + p.w.ver + " NOT acknowledged: lease lapsed");
                        } else if (p.failed.isEmpty() || dropPeers(h, o, p)) {
                            ack(h, p.w);
                        }
                    }
                    continue;
                }
                boolean peersDone = p.sentTo.stream().allMatch(x -> p.acks.contains(x) || p.failed.contains(x));
                if (!p.localDurable || !peersDone) {
                    continue;
                }
                if (!ownerMayAct(h, o)) {
                    it.remove();
                    log(h.id + " v" + p.w.ver + " NOT acknowledged: lease lapsed");
                    continue;
                }
                if (!p.failed.isEmpty() || p.missing) {
                    if (cfg.has(Deviation.FIRST_BUILD) && !p.failed.isEmpty() && !dropPeers(h, o, p)) {
                        it.remove();
                        continue;
                    }
                    if (cfg.has(Deviation.FIRST_BUILD)) {
                        it.remove();
                        backingWrite(h.id, o.epoch, o.lease, p.w, "write-through (missing replica " + p.failed + ")");
                        ack(h, p.w);
                    } else {
                        p.awaitingClean = true;
                        log(h.id + " v" + p.w.ver + " waits for its destage (missing replica " + p.failed + ")");
                    }
                    continue;
                }
                it.remove();
                ack(h, p.w);
            }
        }
    }

    /**
     * VolumeOwnership.dropPeers: the failed peers leave the record's replica set (DEGRADED, same epoch) by CAS
     * before the write is acknowledged; a record that no longer names this host at its epoch fails the write.
     */
    private boolean dropPeers(Host h, Owner o, Pending p) {
        try {
            VolumeRecord r = h.zk.volume(VOL).orElseThrow();
            if (!h.id.equals(r.owner()) || r.epoch() != o.epoch) {
                log(h.id + " v" + p.w.ver + " NOT acknowledged: fenced (record owner " + r.owner() + " epoch " + r.epoch() + ")");
                return false;
            }
            List<String> kept = r.replicaSet().stream().filter(x -> !p.failed.contains(x)).toList();
            if (kept.size() != r.replicaSet().size() && !h.zk.compareAndSet(r, r.withState(VolumeState.DEGRADED, kept)).won()) {
                log(h.id + " v" + p.w.ver + " NOT acknowledged: replica set CAS lost");
                return false;
            }
            log(h.id + " replica set now " + kept + " (" + p.failed + " failed v" + p.w.ver + ")");
        } catch (ClusterException e) {
            log(h.id + " v" + p.w.ver + " NOT acknowledged: cannot update the replica set: " + e.reason());
            return false;
        }
        o.absent.removeAll(p.failed);
        for (String f : p.failed) {
            o.peers.remove(f); // ReplicaSet.drop
            o.joinedAfter.remove(f);
            for (Pending q : o.pending) {
                if (q.sentTo.contains(f) && !q.acks.contains(f)) {
                    q.failed.add(f); // the closed client fails what it still had in flight
                }
            }
        }
        return true;
    }

    private void ack(Host h, W w) {
        acked.add(w.ver);
        ackedCount++;
        newestAcked[w.block] = Math.max(newestAcked[w.block], w.ver);
        log(h.id + " ACK v" + w.ver + " to client");
    }

    /** Group commit: everything appended so far becomes durable. */
    private void sync(Host h) {
        if (h.durable == h.log.size() && h.ackWhenDurable.isEmpty()) {
            return;
        }
        for (Object o : h.log.subList(h.durable, h.log.size())) {
            if (o instanceof DataRec || o instanceof ReplRec) {
                h.applyDurable(o);
            }
            if (o instanceof DataRec d && h.owner != null) {
                for (Pending p : h.owner.pending) {
                    if (p.w.ver == d.w.ver) {
                        p.localDurable = true;
                        h.owner.tracker.landed(d.w.flushEpoch);
                    }
                }
            }
        }
        h.durable = h.log.size();
        for (Msg m : h.ackWhenDurable) {
            send(m);
        }
        h.ackWhenDurable.clear();
        log(h.id + " flash sync (" + h.durable + " records durable)");
    }

    // ---- owner: destage ----
    private void destage(Host h) {
        Owner o = h.owner;
        if (o.batch == null) {
            if (h.dirty.isEmpty()) {
                return;
            }
            o.batch = new ArrayList<>(h.dirty.firstEntry().getValue().values());
            o.batchIdx = 0;
            log(h.id + " destage batch fe " + h.dirty.firstKey() + " " + vers(o.batch));
            return;
        }
        if (o.batchIdx < o.batch.size()) {
            if (!cfg.has(Deviation.DESTAGE_WITHOUT_FENCE) && !ownerMayAct(h, o)) {
                log(h.id + " destage stopped: lease lapsed");
                o.batch = null;
                return;
            }
            W w = o.batch.get(o.batchIdx++);
            backingWrite(h.id, o.epoch, o.lease, w, "destage");
            return;
        }
        // backing flush, then destaged(batch): drop the versions still the ones handed out; CLEAN not forced
        for (W w : o.batch) {
            TreeMap<Integer, W> m = h.dirty.get(w.flushEpoch);
            if (m != null && m.get(w.block) != null && m.get(w.block).ver == w.ver) {
                h.appendApplied(new CleanRec(w.block, w.ver));
            }
        }
        o.batch = null;
        long bound = o.tracker.releasable(h.oldestDirtyEpoch(), NO_EPOCH);
        log(h.id + " backing flush; destaged; release bound " + Long.toHexString(bound));
        if (bound > 0 && ownerMayAct(h, o)) {
            if (!cfg.has(Deviation.RELEASE_BEFORE_CLEAN_DURABLE)) {
                sync(h); // VolumeCache.cleanRecordsDurable: the CLEAN records first, then the release
            }
            for (String peer : o.peers) {
                if (!o.closed.contains(peer)) {
                    send(new Msg(Kind.REL, h.id, peer, null, o.epoch, bound, o.incarnation, 0));
                }
            }
        }
    }

    private void backingWrite(String host, long epoch, Lease lease, W w, String why) {
        List<Integer> hist = backingHistory.get(w.block);
        hist.add(w.ver);
        log(host + " BACKING write block " + w.block + " v" + w.ver + " (" + why + ", epoch " + epoch + ")");
        // I4: one destager per volume, fenced by the epoch: epochs of backing writes never go back,
        // and nobody writes without a valid lease.
        if (!lease.isValid()) {
            fail("I4", host + " wrote the backing store (epoch " + epoch + ") with a lapsed lease");
        }
        if (epoch < maxDestageEpoch) {
            fail("I4", host + " wrote the backing store at epoch " + epoch + " after epoch " + maxDestageEpoch + " had written");
        }
        maxDestageEpoch = Math.max(maxDestageEpoch, epoch);
    }

    // ---- replica holder ----
    private void onReplicate(Host h, Msg m) {
        if (m.epoch < h.highestEpoch) {
            send(new Msg(Kind.NACK, h.id, m.from, m.w, m.epoch, 0, m.incarnation, 0));
            log(h.id + " STALE_EPOCH v" + m.w.ver + " (epoch " + m.epoch + " < " + h.highestEpoch + ")");
            return;
        }
        h.highestEpoch = Math.max(h.highestEpoch, m.epoch);
        h.log.add(new ReplRec(m.w));
        Msg ack = new Msg(Kind.ACK, h.id, m.from, m.w, m.epoch, 0, m.incarnation, 0);
        if (cfg.has(Deviation.ACK_BEFORE_REPLICA_DURABLE)) {
            send(ack);
        } else {
            h.ackWhenDurable.add(ack);
        }
        log(h.id + " replica append v" + m.w.ver + " from " + m.from);
    }

    private void onRelease(Host h, Msg m) {
        if (m.epoch < h.highestEpoch) {
            log(h.id + " STALE_EPOCH release from " + m.from);
            return;
        }
        h.appendApplied(new RelRec(m.from, m.upTo, m.epoch));
        log(h.id + " RELEASE " + m.from + " up to " + Long.toHexString(m.upTo));
    }

    /** TakeoverWatcher.check: obsolete releases, resume, automatic takeover. */
    private void watcher(Host h) {
        if (!h.zk.mayAct() || h.takeover != null) {
            return; // (the watcher thread runs a takeover synchronously: nothing else while it runs)
        }
        VolumeRecord r;
        boolean live;
        try {
            r = h.zk.volume(VOL).orElseThrow();
            live = RecordRules.ownerLive(r, h.zk.hosts());
        } catch (ClusterException e) {
            return;
        }
        if (cfg.has(Deviation.FIRST_BUILD)) {
            firstBuildWatcher(h, r, live);
            return;
        }
        boolean inSet = r.replicaSet().contains(h.id);
        for (String origin : List.copyOf(h.replicas.keySet())) {
            boolean originOwns = origin.equals(r.owner());
            if (r.state() == VolumeState.TAKEOVER && !originOwns) {
                continue; // keep every copy until the takeover has finished
            }
            if (originOwns && (inSet || !cfg.has(Deviation.RELEASE_WHILE_ORIGIN_OWNS))) {
                continue;
            }
            h.appendApplied(new RelRec(origin, cfg.has(Deviation.RELEASE_EVERYTHING) ? Long.MAX_VALUE : ReleaseTracker.lastSequenceOf(r.epoch()), r.epoch()));
            log(h.id + " releases obsolete replicas of " + origin + " (owner " + r.owner() + " " + r.state() + " epoch " + r.epoch()
                    + " set " + r.replicaSet() + ")");
        }
        if (!r.hasOwner() || !inSet && !r.owner().equals(h.id)) {
            return;
        }
        if (r.state() == VolumeState.TAKEOVER && r.owner().equals(h.id)) {
            resumeTakeover(h, r);
            return;
        }
        if (live || r.owner().equals(h.id)) {
            return;
        }
        // the owner died — or the host taking it over died, and this host is another holder its record names
        startTakeover(h, r, origin(h, r));
    }

    /** Takeover.origin: the owner, or after a dead takeover winner the origin held at the newest ownership epoch. */
    private static String origin(Host h, VolumeRecord before) {
        if (before.state() != VolumeState.TAKEOVER) {
            return before.owner();
        }
        String best = null;
        long bestEpoch = -1;
        for (var e : h.replicas.entrySet()) {
            long epoch = e.getValue().values().stream().mapToLong(W::ownerEpoch).max().orElse(-1);
            if (epoch > bestEpoch) {
                best = e.getKey();
                bestEpoch = epoch;
            }
        }
        return best;
    }

    /** The watcher as first built (seed 16): obsolete = origin not owner; take over only holding the owner's replicas. */
    private void firstBuildWatcher(Host h, VolumeRecord r, boolean live) {
        for (String origin : List.copyOf(h.replicas.keySet())) {
            boolean originOwns = origin.equals(r.owner());
            if (!originOwns) {
                h.appendApplied(new RelRec(origin, Long.MAX_VALUE, r.epoch()));
                log(h.id + " releases obsolete replicas of " + origin + " (owner " + r.owner() + " " + r.state() + " epoch " + r.epoch() + ")");
                continue;
            }
            if (!live && !r.owner().equals(h.id)) {
                startTakeover(h, r, r.owner());
                return;
            }
        }
    }

    /** Takeover.run: win the next epoch (TAKEOVER, no replica set), then destage the origin's newest replicas. */
    private void startTakeover(Host h, VolumeRecord before, String origin) {
        CasOutcome c;
        try {
            c = h.zk.takeOver(VOL, cfg.has(Deviation.FIRST_BUILD) ? List.of()
                    : before.replicaSet().stream().filter(x -> !x.equals(h.id)).toList());
        } catch (ClusterException e) {
            return;
        }
        if (!c.won()) {
            log(h.id + " takeover lost to " + c.current().owner());
            return;
        }
        beginTakeover(h, c.current(), origin, "won from " + before.owner());
    }

    /** Takeover.resume: a takeover this host won but did not finish; claimed again in the current session. */
    private void resumeTakeover(Host h, VolumeRecord r) {
        if (cfg.has(Deviation.FIRST_BUILD)) {
            return;
        }
        CasOutcome c;
        try {
            c = h.zk.takeOver(VOL, r.replicaSet());
        } catch (ClusterException e) {
            return;
        }
        if (!c.won()) {
            log(h.id + " takeover not resumed: owned by " + c.current().owner());
            return;
        }
        beginTakeover(h, c.current(), origin(h, r), "RESUMED (was epoch " + r.epoch() + ")");
    }

    private void beginTakeover(Host h, VolumeRecord won, String origin, String how) {
        long epoch = won.epoch();
        h.appendApplied(new NoteRec(epoch)); // replicaStore().noteEpoch
        // TakeoverDestage: the newest replica of every block of ONE origin (by origin sequence)
        List<W> vs = origin == null ? new ArrayList<>() : new ArrayList<>(h.replicas.getOrDefault(origin, new TreeMap<>()).values());
        Map<String, Long> maxSeq = new HashMap<>();
        for (W w : vs) {
            maxSeq.merge(w.origin, w.seq, Math::max);
        }
        h.takeover = new Takeover(epoch, h.zk.lease(), won, vs, maxSeq);
        log(h.id + " TAKEOVER " + how + " epoch " + epoch + ", origin " + origin + ": " + vers(vs));
    }

    private void takeoverStep(Host h) {
        Takeover t = h.takeover;
        if (t.idx < t.versions.size()) {
            if (!cfg.has(Deviation.DESTAGE_WITHOUT_FENCE) && !takeoverMayAct(h, t)) {
                log(h.id + " takeover stopped: lease lapsed");
                h.takeover = null;
                return;
            }
            backingWrite(h.id, t.epoch, t.lease, t.versions.get(t.idx++), "takeover");
            return;
        }
        if (!t.flushed) {
            t.flushed = true;
            t.maxSeq.forEach((origin, s) -> h.appendApplied(new RelRec(origin, s, t.epoch)));
            log(h.id + " takeover: backing flush, own replicas released");
            return;
        }
        try {
            CasOutcome c = h.zk.compareAndSet(t.won, t.won.released());
            log(h.id + " takeover done: volume released CLEAN: " + c.won());
        } catch (ClusterException e) {
            log(h.id + " takeover: release CAS failed " + e.reason());
        }
        h.takeover = null; // Takeover.finish returns either way (RUNNING removed)
    }

    /** Graceful stop (Node.releaseOwnedVolumes): a clean owned volume is given up clean; the process exits. */
    private void gracefulStop(Host h) {
        sync(h);
        Owner o = h.owner;
        if (o != null && h.dirty.isEmpty() && o.pending.isEmpty() && o.batch == null) {
            try {
                VolumeRecord r = h.zk.volume(VOL).orElseThrow();
                if (h.id.equals(r.owner()) && r.epoch() == o.epoch) {
                    log(h.id + " graceful stop: clean, released: " + h.zk.compareAndSet(r, r.released()).won());
                }
            } catch (ClusterException e) {
                log(h.id + " graceful stop: release failed " + e.reason());
            }
        } else {
            log(h.id + " graceful stop: " + (o == null ? "owns nothing" : "still dirty, stays owned"));
        }
        h.zk.close(); // the session ends at once
        h.zk = null;
        h.up = false;
        h.paused = false;
        h.owner = null;
        h.takeover = null;
        h.ackWhenDurable.clear();
        h.rebuild();
        for (String other : IDS) {
            if (!other.equals(h.id)) {
                resetLink(h.id, other);
            }
        }
        log("STOPPED " + h.id);
    }

    // ---- network ----
    private void send(Msg m) {
        Msg d = new Msg(m.kind, m.from, m.to, m.w, m.epoch, m.upTo, m.incarnation, clock.nanos() + rnd.nextLong(2_000_000));
        links.computeIfAbsent(m.from + ">" + m.to, k -> new ArrayDeque<>()).add(d);
    }

    private static String pair(String a, String b) {
        return a.compareTo(b) < 0 ? a + b : b + a;
    }

    private void deliver() {
        List<String> ready = new ArrayList<>();
        for (var e : links.entrySet()) {
            Msg head = e.getValue().peek();
            if (head == null) {
                continue;
            }
            Host to = hosts.get(head.to);
            Host from = hosts.get(head.from);
            if (!cut.contains(pair(head.from, head.to)) && to.acts() && from.up && head.deliverAt <= clock.nanos() + 5_000_000) {
                ready.add(e.getKey());
            }
        }
        if (ready.isEmpty()) {
            return;
        }
        Msg m = links.get(ready.get(rnd.nextInt(ready.size()))).poll();
        Host to = hosts.get(m.to);
        switch (m.kind) {
            case REPL -> onReplicate(to, m);
            case REL -> onRelease(to, m);
            case ACK, NACK -> {
                Owner o = to.owner;
                if (o == null || o.incarnation != m.incarnation) {
                    return;
                }
                for (Pending p : o.pending) {
                    if (p.w.ver == m.w.ver) {
                        (m.kind == Kind.ACK ? p.acks : p.failed).add(m.from);
                    }
                }
                log(to.id + " got " + m.kind + " v" + m.w.ver + " from " + m.from);
            }
        }
    }

    private void delay() {
        List<ArrayDeque<Msg>> busy = links.values().stream().filter(q -> !q.isEmpty()).toList();
        if (busy.isEmpty()) {
            return;
        }
        ArrayDeque<Msg> q = busy.get(rnd.nextInt(busy.size()));
        Msg h = q.poll();
        long extra = 500_000_000L + rnd.nextLong(8_000_000_000L);
        q.addFirst(new Msg(h.kind, h.from, h.to, h.w, h.epoch, h.upTo, h.incarnation, h.deliverAt + extra));
        log("net delay " + h.from + ">" + h.to + " " + h.kind + " by " + extra / 1_000_000 + "ms");
    }

    /** A connection between two hosts breaks: what was in flight is lost, the owner's peer client is closed. */
    private void drop() {
        String a = IDS.get(rnd.nextInt(3));
        String b = IDS.get(rnd.nextInt(3));
        if (a.equals(b)) {
            return;
        }
        resetLink(a, b);
        log("net connection " + a + "-" + b + " dropped");
    }

    private void resetLink(String a, String b) {
        links.getOrDefault(a + ">" + b, new ArrayDeque<>()).clear();
        links.getOrDefault(b + ">" + a, new ArrayDeque<>()).clear();
        for (String[] ends : new String[][] {{a, b}, {b, a}}) {
            Owner o = hosts.get(ends[0]).owner;
            if (o != null && o.peers.contains(ends[1])) {
                o.closed.add(ends[1]);
                for (Pending p : o.pending) {
                    if (p.sentTo.contains(ends[1]) && !p.acks.contains(ends[1])) {
                        p.failed.add(ends[1]);
                    }
                }
            }
        }
    }

    private void partitionLink() {
        String a = IDS.get(rnd.nextInt(3));
        String b = IDS.get(rnd.nextInt(3));
        if (!a.equals(b)) {
            cut.add(pair(a, b));
            log("net partition " + a + "|" + b);
        }
    }

    private void healLink() {
        if (!cut.isEmpty()) {
            String p = cut.stream().sorted().toList().get(rnd.nextInt(cut.size()));
            cut.remove(p);
            log("net heal " + p);
        }
    }

    // ---- faults ----
    private void crash(Host h) {
        zk.crash(h.zk);
        h.zk = null;
        h.up = false;
        h.paused = false;
        h.owner = null;
        h.takeover = null;
        h.ackWhenDurable.clear();
        h.rebuild(); // the volatile tail is gone; what remains is the durable log
        for (String other : IDS) {
            if (!other.equals(h.id)) {
                resetLink(h.id, other);
            }
        }
        log("CRASH " + h.id + " (durable records " + h.durable + ")");
    }

    private void restart(Host h) {
        Cluster c = zk.connect(h.id);
        try {
            c.register(info(h.id));
        } catch (ClusterException e) {
            c.close();
            return; // the old session still holds the id: wait for it to expire
        }
        h.zk = c;
        h.up = true;
        log("RESTART " + h.id);
        reconcile(h, c.volume(VOL).orElseThrow());
    }

    /**
     * VolumeOwnership.reconcile (Node.open, at the restart and again right before the claim): recovered dirty
     * data is kept only if the record still names this host, or a takeover is unfinished.
     */
    private void reconcile(Host h, VolumeRecord r) {
        if (h.dirty.isEmpty()) {
            return;
        }
        boolean keep = h.id.equals(r.owner()) || !cfg.has(Deviation.FIRST_BUILD) && r.state() == VolumeState.TAKEOVER
                || cfg.has(Deviation.KEEP_STALE_DIRTY);
        log(h.id + " reconcile: recovered dirty " + vers(h.dirty.values().stream().flatMap(m -> m.values().stream()).toList())
                + (keep ? " kept" : " discarded") + " (owner " + r.owner() + " " + r.state() + ", epoch " + r.epoch() + ")");
        if (!keep) {
            h.log.add(new InvalRec());
            h.durable = h.log.size(); // invalidate(...).get(): durable before the destager starts
            h.dirty.clear();
        }
    }

    private void pause(Host h) {
        h.paused = true;
        zk.partition(h.id); // a stopped process neither renews nor hears anything
        log("PAUSE " + h.id + " (SIGSTOP)");
    }

    /** The paused process runs again: its threads act first (split-brain attempt), then its client catches up. */
    private void wake(Host h) {
        h.paused = false;
        log("WAKE " + h.id);
        if (h.owner != null && h.owner.batch != null) {
            destage(h);
        }
        if (h.takeover != null) {
            takeoverStep(h);
        }
        settleWrites();
        zk.heal(h.id);
    }

    // =====================================================================================
    // checkers

    void fail(String inv, String why) {
        throw new Violation(inv + " violated at step " + stepNo + ": " + why);
    }

    private void check() {
        int down = (int) hosts.values().stream().filter(h -> !h.up).count();
        for (int b = 0; b < BLOCKS; b++) {
            List<Integer> hist = backingHistory.get(b);
            // I2: once an acknowledged version reached the backing store, nothing older follows it
            int maxAckedSeen = 0;
            for (int v : hist) {
                if (v < maxAckedSeen) {
                    fail("I2", "block " + b + " got v" + v + " after acknowledged v" + maxAckedSeen + " (backing history " + hist + ")");
                }
                if (acked.contains(v)) {
                    maxAckedSeen = Math.max(maxAckedSeen, v);
                }
            }
            // I1: the newest acknowledged write is on the backing store or on a durable copy that survives
            int a = newestAcked[b];
            int onBacking = hist.getLast();
            if (a == 0 || onBacking >= a) {
                continue;
            }
            List<String> holders = new ArrayList<>();
            for (Host h : hosts.values()) {
                if (holds(h, b, a)) {
                    holders.add(h.id + (h.up ? "" : "(down)"));
                }
            }
            boolean onLive = holders.stream().anyMatch(s -> !s.endsWith("(down)"));
            if (holders.isEmpty() || (!onLive && down <= replicas)) {
                fail("I1", "acknowledged v" + a + " of block " + b + " is not on the backing store (v" + onBacking
                        + ") and durable only on " + holders + " with " + down + " host(s) down, replicas=" + replicas);
            }
        }
        // I3: when the volume is clean, the backing store holds the newest acknowledged write of every block
        VolumeRecord r = record();
        boolean clean = r != null && r.state() == VolumeState.CLEAN && hosts.values().stream().allMatch(h -> h.takeover == null)
                || hosts.values().stream().anyMatch(h -> h.owner != null && h.acts() && h.owner.lease.isValid()
                        && h.dirty.isEmpty() && h.owner.pending.isEmpty() && h.durable == h.log.size()
                        && r != null && h.id.equals(r.owner()));
        if (clean && hosts.values().stream().noneMatch(h -> h.owner != null && (!h.owner.pending.isEmpty() || !h.dirty.isEmpty()))) {
            for (int b = 0; b < BLOCKS; b++) {
                int onBacking = backingHistory.get(b).getLast();
                if (onBacking < newestAcked[b]) {
                    fail("I3", "volume clean (" + (r == null ? "?" : r.state()) + ") but block " + b + " reads v" + onBacking
                            + " from the backing store, newest acknowledged is v" + newestAcked[b]);
                }
            }
        }
    }

    /** Does h hold, durably, a copy of block b at least as new as version v (owner data or a live replica)? */
    private static boolean holds(Host h, int b, int v) {
        for (TreeMap<Integer, W> m : h.dirty.values()) {
            W w = m.get(b);
            if (w != null && w.ver >= v) {
                return true;
            }
        }
        for (TreeMap<Integer, W> m : h.replicas.values()) {
            W w = m.get(b);
            if (w != null && w.ver >= v) {
                return true;
            }
        }
        return false;
    }

    private static String vers(List<W> ws) {
        StringBuilder s = new StringBuilder("[");
        for (W w : ws) {
            s.append(s.length() > 1 ? " " : "").append('b').append(w.block).append("=v").append(w.ver);
        }
        return s.append(']').toString();
    }

    String traceTail(int n) {
        return String.join("\n", trace.subList(Math.max(0, trace.size() - n), trace.size()));
    }
}
