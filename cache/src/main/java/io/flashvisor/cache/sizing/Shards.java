package io.flashvisor.cache.sizing;

/**
 * Online LRU miss-ratio curve of one stream of block accesses in bounded memory: fixed-size
 * SHARDS (Waldspurger, Park, Garthwaite and Ahmad, "Efficient MRC Construction with SHARDS",
 * FAST '15). {@link #record} takes each accessed block key; {@link #curve} returns the current
 * curve; {@link #sizeForHitRatio} answers "this volume needs N blocks of flash for 90 % hits".
 *
 * <p>Design notes. Spatially hashed sampling: a key is sampled iff its hash is below a threshold
 * T, so every access of a sampled key is seen and the reuse distances among sampled keys, scaled
 * by 1/R (R = T / 2^63 the sampling rate), estimate the full trace's LRU stack distances. The
 * fixed-size variant keeps at most {@code maxSamples} keys: when one more is sampled, the key
 * with the largest hash leaves, T drops to its hash, and the histogram is rescaled by
 * R_new/R_old, so memory is O(maxSamples) however many blocks the volume touches. The distance
 * of a sampled access comes from a Fenwick tree over logical time ({@link ReuseClock}); an
 * unsampled access costs one hash and one compare. {@link #curve} applies SHARDS_adj: the
 * difference between the expected (N·R) and the counted sampled accesses is added to the
 * smallest distance, which removes most of the bias of small samples.
 *
 * <p>With fewer distinct keys than {@code maxSamples} the rate stays 1 and the curve is exact
 * (up to the histogram's 1.6 % bucket width).
 *
 * <p>Thread-safe: every method synchronizes on the instance. One instance per volume, fed from
 * its I/O path; an uncontended lock costs tens of nanoseconds, and most accesses then do nothing
 * but hash.
 */
public final class Shards {
    /** The sample size that keeps a curve's mean absolute error near 0.01 on block traces: ~0.6 MiB of RAM. */
    public static final int DEFAULT_MAX_SAMPLES = 16_384;

    private final int maxSamples;
    private final KeySlots entries;
    private final ReuseClock clock;
    private final DistanceHistogram histogram = new DistanceHistogram();
    // Per entry: key, hash and last access time; plus a max-heap of entries by hash.
    private final long[] entryKey;
    private final long[] entryHash;
    private final int[] entryTime;
    private final int[] heap;
    private final int[] heapPos;
    private int size;
    /** Sample iff hash < threshold; Long.MAX_VALUE is rate 1 (every hash but one). */
    private long threshold = Long.MAX_VALUE;
    private double rate = 1.0;
    private double cold;
    private long accesses;

    public Shards() {
        this(DEFAULT_MAX_SAMPLES);
    }

    public Shards(int maxSamples) {
        if (maxSamples < 16 || maxSamples > 1 << 24) {
            throw new IllegalArgumentException("maxSamples " + maxSamples + " is not in [16, 2^24]");
        }
        this.maxSamples = maxSamples;
        entries = new KeySlots(maxSamples + 1);
        clock = new ReuseClock(maxSamples + 1);
        entryKey = new long[maxSamples + 1];
        entryHash = new long[maxSamples + 1];
        entryTime = new int[maxSamples + 1];
        heap = new int[maxSamples + 1];
        heapPos = new int[maxSamples + 1];
    }

    /** Records one access of block {@code blockKey} (any 64-bit key: volume and block combined). */
    public synchronized void record(long blockKey) {
        accesses++;
        long hash = hash(blockKey);
        if (hash >= threshold) {
            return;
        }
        if (clock.full()) {
            clock.compact(entryTime);
        }
        int e = entries.get(blockKey);
        if (e != KeySlots.ABSENT) {
            int last = entryTime[e];
            int distance = clock.countAfter(last) + 1;
            clock.unmark(last);
            entryTime[e] = clock.mark(e);
            histogram.add(distance / rate, 1.0);
            return;
        }
        cold += 1.0;
        e = size++;
        entryKey[e] = blockKey;
        entryHash[e] = hash;
        entryTime[e] = clock.mark(e);
        entries.put(blockKey, e);
        heapPush(e);
        if (size > maxSamples) {
            dropLargestHash();
        }
    }

    /** The curve so far, with as many points as the histogram has non-empty buckets (plus size 0). */
    public synchronized MissRatioCurve curve() {
        int buckets = histogram.buckets();
        double expected = accesses * rate;
        double counted = cold;
        for (int b = 0; b < buckets; b++) {
            counted += histogram.count(b);
        }
        if (expected <= 0) {
            return new MissRatioCurve(new long[] {0}, new double[] {1.0}, accesses);
        }
        long[] sizes = new long[buckets + 1];
        double[] miss = new double[buckets + 1];
        int n = 0;
        sizes[n] = 0;
        miss[n++] = 1.0;
        // SHARDS_adj: the shortfall (or excess) of sampled accesses counts as distance-1 hits.
        double hits = expected - counted;
        for (int b = 0; b < buckets; b++) {
            double c = histogram.count(b);
            if (c == 0 && b != 0) {
                continue;
            }
            hits += c;
            long s = Math.max(1, DistanceHistogram.upperBound(b));
            double m = Math.min(miss[n - 1], Math.max(0.0, 1.0 - hits / expected));
            if (s == sizes[n - 1]) {
                miss[n - 1] = m;
            } else {
                sizes[n] = s;
                miss[n++] = m;
            }
        }
        return new MissRatioCurve(java.util.Arrays.copyOf(sizes, n), java.util.Arrays.copyOf(miss, n), accesses);
    }

    /** Shorthand for {@code curve().sizeForHitRatio(hitRatio)}: blocks for that hit ratio, or -1. */
    public long sizeForHitRatio(double hitRatio) {
        return curve().sizeForHitRatio(hitRatio);
    }

    /** The current sampling rate R (1 until more than {@code maxSamples} distinct keys were seen). */
    public synchronized double samplingRate() {
        return rate;
    }

    public synchronized long accesses() {
        return accesses;
    }

    public synchronized long bytesOfRam() {
        return entries.bytesOfRam() + clock.bytesOfRam() + histogram.bytesOfRam()
                + (long) entryKey.length * (2 * Long.BYTES + 3 * Integer.BYTES);
    }

    private void dropLargestHash() {
        int e = heap[0];
        size--;
        heap[0] = heap[size];
        heapPos[heap[0]] = 0;
        siftDown(0);
        clock.unmark(entryTime[e]);
        entries.remove(entryKey[e]);
        long newThreshold = entryHash[e];
        if (e != size) {
            moveEntry(size, e); // keep entry numbers dense: 0..size-1
        }
        double newRate = newThreshold / (double) Long.MAX_VALUE;
        histogram.scale(newRate / rate);
        cold *= newRate / rate;
        rate = newRate;
        threshold = newThreshold;
    }

    /** Renames entry {@code from} to {@code to}, in the map, the clock's owner table and the heap. */
    private void moveEntry(int from, int to) {
        entryKey[to] = entryKey[from];
        entryHash[to] = entryHash[from];
        entryTime[to] = entryTime[from];
        entries.put(entryKey[to], to);
        clock.rename(entryTime[to], to);
        heapPos[to] = heapPos[from];
        heap[heapPos[to]] = to;
    }

    private void heapPush(int e) {
        int i = size - 1;
        heap[i] = e;
        heapPos[e] = i;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (entryHash[heap[parent]] >= entryHash[heap[i]]) {
                break;
            }
            swap(i, parent);
            i = parent;
        }
    }

    private void siftDown(int i) {
        while (true) {
            int l = 2 * i + 1;
            if (l >= size) {
                return;
            }
            int big = l + 1 < size && entryHash[heap[l + 1]] > entryHash[heap[l]] ? l + 1 : l;
            if (entryHash[heap[i]] >= entryHash[heap[big]]) {
                return;
            }
            swap(i, big);
            i = big;
        }
    }

    private void swap(int a, int b) {
        int t = heap[a];
        heap[a] = heap[b];
        heap[b] = t;
        heapPos[heap[a]] = a;
        heapPos[heap[b]] = b;
    }

    /** SplitMix64's finaliser, top 63 bits: neighbouring blocks must be sampled independently. */
    static long hash(long key) {
        long z = key + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return (z ^ (z >>> 31)) >>> 1;
    }
}
