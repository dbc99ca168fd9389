package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.FrameFormat;
import io.flashvisor.replication.protocol.Read;
import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.protocol.Replicate;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A sink that answers nothing until the test says so, so the test chooses the completion order. */
final class HeldSink implements ReplicaSink {
    /** A request the sink holds: its origin sequence (REPLICATE) or first block (READ), and its future. */
    record Held(boolean read, long key, int blocks, CompletableFuture<Object> future) {
        void complete() {
            if (read) {
                future.complete(blockPattern(key, blocks));
            } else {
                future.complete(null);
            }
        }
    }

    private final List<Held> held = new ArrayList<>();
    private long received;

    /** Every block reads as its own number repeated. */
    static ByteBuffer blockPattern(long firstBlock, int blocks) {
        ByteBuffer b = ByteBuffer.allocate(blocks * FrameFormat.BLOCK_SIZE);
        for (int i = 0; i < blocks; i++) {
            for (int j = 0; j < FrameFormat.BLOCK_SIZE / 8; j++) {
                b.putLong(firstBlock + i);
            }
        }
        return b.flip();
    }

    @Override
    @SuppressWarnings("unchecked")
    public synchronized CompletableFuture<Void> replicate(long peer, Replicate m) {
        CompletableFuture<Object> f = new CompletableFuture<>();
        held.add(new Held(false, m.originSequence(), m.blockCount(), f));
        received++;
        return (CompletableFuture<Void>) (CompletableFuture<?>) f;
    }

    @Override
    public CompletableFuture<Void> release(long peer, Release m) {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    @SuppressWarnings("unchecked")
    public synchronized CompletableFuture<ByteBuffer> read(long peer, Read m) {
        CompletableFuture<Object> f = new CompletableFuture<>();
        held.add(new Held(true, m.firstBlock(), m.blockCount(), f));
        received++;
        return (CompletableFuture<ByteBuffer>) (CompletableFuture<?>) f;
    }

    /** Takes every request held so far. */
    synchronized List<Held> takeAll() {
        List<Held> all = new ArrayList<>(held);
        held.clear();
        return all;
    }

    synchronized int heldCount() {
        return held.size();
    }

    synchronized long received() {
        return received;
    }
}
