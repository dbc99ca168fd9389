package io.flashvisor.cache.log;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** One append call waiting for the appender: its records go into one batch of its stream, together. */
final class PendingAppend {
    final int stream;
    final List<Record> records;
    final boolean reclaim;
    final int dataBlocks;
    final long deadlineNanos;
    final CompletableFuture<AppendResult> future;

    PendingAppend(int stream, List<Record> records, boolean reclaim, int dataBlocks, long deadlineNanos,
                  CompletableFuture<AppendResult> future) {
        this.future = future;
        this.stream = stream;
        this.records = records;
        this.reclaim = reclaim;
        this.dataBlocks = dataBlocks;
        this.deadlineNanos = deadlineNanos;
    }
}
