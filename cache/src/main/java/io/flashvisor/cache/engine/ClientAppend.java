package io.flashvisor.cache.engine;

import io.flashvisor.cache.log.AppendResult;
import io.flashvisor.cache.log.Record;
import io.flashvisor.cache.log.RecordType;
import io.flashvisor.cache.policy.Queue;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * One client record (a DATA record of an insert, or an INVALIDATE) on its way to the log: append,
 * and when durable apply it to the index under the engine lock and complete — unless a reclaim
 * round in flight may have given an older copy of its blocks a higher sequence ("shadowed", see
 * {@link InFlightMoves}); then it waits for the round and appends the same record again.
 *
 * <p>A clean DATA record over blocks that still have dirty versions drops those versions; it goes
 * out with a CLEAN record for them in the same append. Recovery would drop them when it meets the
 * clean DATA record too, but that record dies (and is reclaimed) as soon as the block is rewritten,
 * while an older dirty record may live on in another segment; the CLEAN is kept by the cleaner as
 * long as such a segment may exist, so the dropped versions stay dropped after any restart.
 *
 * <p>The index update runs in the append's completion, normally on the log's appender thread, and
 * is quick (one probe per block). Callers order appends of overlapping blocks themselves (the
 * volume layer's range locks wait for completion); the engine's own races with the cleaner and the
 * destager are decided by state checks (an update applies only if the index still points where the
 * updater expects), not by callback order. Thread-safe: each instance is driven by the log's
 * completions, one at a time.
 */
final class ClientAppend {
    private final FlashCache cache;
    private final VolumeCache volume;
    private final int stream;
    private final Record record;
    private final Queue queue;
    private final CompletableFuture<Void> done = new CompletableFuture<>();

    ClientAppend(FlashCache cache, VolumeCache volume, int stream, Record record, Queue queue) {
        this.cache = cache;
        this.volume = volume;
        this.stream = stream;
        this.record = record;
        this.queue = queue;
    }

    CompletableFuture<Void> start() {
        submit();
        return done;
    }

    private void submit() {
        try {
            List<Record> records = List.of(record);
            if (record.type() == RecordType.DATA && !record.dirty()) {
                long dropped = volume.newestVersionSequence(record.firstBlock(), record.blockCount());
                if (dropped >= 0) {
                    records = List.of(Record.clean(record.volumeId(), record.firstBlock(), record.blockCount(), dropped), record);
                }
            }
            int index = records.size() - 1;
            // Applied on the appender thread before its segment can be sealed (FlashLog.appendThen): else the cleaner
            // could free the segment before the index points into it.
            cache.log.appendThen(stream, records, (r, failure) -> appended(r == null ? null : new Appended(r, index), failure));
        } catch (RuntimeException e) {
            done.completeExceptionally(e);
        }
    }

    /** The append's result and the index of the client's record in it (after a CLEAN, if any). */
    private record Appended(AppendResult result, int index) {
    }

    private void appended(Appended appended, Throwable failure) {
        if (failure != null) {
            done.completeExceptionally(failure instanceof CompletionException c && c.getCause() != null ? c.getCause() : failure);
            return;
        }
        AppendResult result = appended.result();
        CompletableFuture<Long> round;
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            round = ci.moves.shadowing(volume.ordinal(), record.firstBlock(), record.blockCount(),
                    result.sequence(appended.index()));
            if (round == null) {
                if (record.type() == RecordType.DATA) {
                    volume.applyWrite(record, result, appended.index(), queue);
                } else {
                    volume.applyInvalidate(record);
                }
            }
        } catch (RuntimeException e) {
            done.completeExceptionally(e);
            return;
        } finally {
            ci.lock.unlock();
        }
        if (round == null) {
            done.complete(null);
        } else {
            cache.shadowedAppends.incrementAndGet();
            round.whenComplete((sequence, t) -> submit());
        }
    }
}
