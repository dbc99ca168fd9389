package io.flashvisor.node.volume;

import io.flashvisor.cache.engine.ReplicaStore;
import io.flashvisor.common.BlockVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destage a replica holder runs when it has taken over a dead owner's volume (issue 4, item
 * 5): the newest replica version of every block goes to the backing store — neighbouring blocks
 * in one write — then the backing store is flushed, and only then are the replicas released here.
 * Nothing older than what the holder has can be written: the holder's versions are the newest per
 * block by the origin's sequence, and the caller runs this only after winning the volume's next
 * epoch (the old owner is fenced: it destages nothing more).
 */
public final class TakeoverDestage {
    private static final Logger LOG = LoggerFactory.getLogger(TakeoverDestage.class);
    private static final int BLOCK = 4096;
    private static final int MAX_RUN = 256;

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
        int i = 0;
        while (i < versions.size()) {
            int j = i + 1;
            while (j < versions.size() && j - i < MAX_RUN && versions.get(j).block() == versions.get(j - 1).block() + 1) {
                j++;
            }
            ByteBuffer run = ByteBuffer.allocate((j - i) * BLOCK);
            for (int k = i; k < j; k++) {
                store.read(versions.get(k).location(), run.slice((k - i) * BLOCK, BLOCK));
                maxSequence = Math.max(maxSequence, versions.get(k).originSequence());
            }
            if (!mayAct.getAsBoolean()) {
                throw new IOException("takeover of volume " + Long.toHexString(volumeId) + " stopped: this host's lease lapsed");
            }
            backing.write(versions.get(i).block() * BLOCK, run, false);
            i = j;
        }
        backing.flush();
        if (!versions.isEmpty()) {
            store.release(origin, volumeId, maxSequence);
        }
        LOG.info("takeover destage of volume {} from host {}: {} blocks written to the backing store and released",
                Long.toHexString(volumeId), origin, versions.size());
        return versions.size();
    }
}
