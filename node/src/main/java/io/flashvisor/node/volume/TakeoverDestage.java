package io.flashvisor.node.volume;

import io.flashvisor.cache.engine.ReplicaStore;
import io.flashvisor.common.BlockVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destage a replica holder runs when it has taken over a dead owner's volume (issue 4, item
 * 5): the newest replica version of every block goes to the backing store — neighbouring blocks
 * in one write, {@value #WRITES_IN_FLIGHT} writes in flight — then the backing store is flushed, and only then are the replicas released here.
 * Nothing older than what the holder has can be written: the holder's versions are the newest per
 * block by the origin's sequence, and the caller runs this only after winning the volume's next
 * epoch (the old owner is fenced: it destages nothing more).
 */
public final class TakeoverDestage {
    private static final Logger LOG = LoggerFactory.getLogger(TakeoverDestage.class);
    private static final int BLOCK = 4096;
    private static final int MAX_RUN = 256;
    private static final int WRITES_IN_FLIGHT = 16;

    private TakeoverDestage() {
    }

    /** Returns the number of blocks written. */
    public static long run(ReplicaStore store, long origin, long volumeId, BlockVolume backing) throws IOException {
        return run(store, origin, volumeId, backing, () -> true);
    }

    /** @param mayAct checked before every write: a holder whose own lease lapsed stops at once */
    public static long run(ReplicaStore store, long origin, long volumeId, BlockVolume backing,
                           java.util.function.BooleanSupplier mayAct) throws IOException {
        List<ReplicaStore.Version> versions = store.versions(origin, volumeId);
        long maxSequence = 0;
        for (ReplicaStore.Version v : versions) {
            maxSequence = Math.max(maxSequence, v.originSequence());
        }
        // Each block is written once, with its newest version, so runs may go in any order: in parallel.
        Semaphore slots = new Semaphore(WRITES_IN_FLIGHT);
        List<Future<?>> writes = new ArrayList<>();
        try (ExecutorService writers = Executors.newVirtualThreadPerTaskExecutor()) {
            int i = 0;
            while (i < versions.size()) {
                int j = i + 1;
                while (j < versions.size() && j - i < MAX_RUN && versions.get(j).block() == versions.get(j - 1).block() + 1) {
                    j++;
                }
                if (!mayAct.getAsBoolean()) {
                    throw new IOException("takeover of volume " + Long.toHexString(volumeId) + " stopped: this host's lease lapsed");
                }
                List<ReplicaStore.Version> run = versions.subList(i, j);
                slots.acquireUninterruptibly();
                writes.add(writers.submit(() -> {
                    try {
                        writeRun(store, run, backing);
                        return null;
                    } finally {
                        slots.release();
                    }
                }));
                i = j;
            }
            for (Future<?> w : writes) {
                w.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("takeover of volume " + Long.toHexString(volumeId) + " interrupted", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
        backing.flush();
        if (!versions.isEmpty()) {
            store.release(origin, volumeId, maxSequence);
        }
        LOG.info("takeover destage of volume {} from host {}: {} blocks written to the backing store and released",
                Long.toHexString(volumeId), origin, versions.size());
        return versions.size();
    }

    private static void writeRun(ReplicaStore store, List<ReplicaStore.Version> run, BlockVolume backing) throws IOException {
        ByteBuffer data = ByteBuffer.allocate(run.size() * BLOCK);
        for (int k = 0; k < run.size(); k++) {
            store.read(run.get(k).location(), data.slice(k * BLOCK, BLOCK));
        }
        backing.write(run.getFirst().block() * BLOCK, data, false);
    }
}
