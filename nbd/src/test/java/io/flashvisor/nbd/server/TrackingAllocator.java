package io.flashvisor.nbd.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;

/**
 * A test allocator that remembers every buffer it hands out, so a test can assert that all of them
 * were released (deterministically, unlike the GC-driven leak detector) and that none was larger
 * than a bound (no allocation sized by an untrusted length).
 */
final class TrackingAllocator extends AbstractByteBufAllocator {
    private final UnpooledByteBufAllocator delegate = new UnpooledByteBufAllocator(true, true);
    private final List<ByteBuf> allocated = new ArrayList<>();
    private int largestRequest;

    TrackingAllocator() {
        super(false);
    }

    @Override
    protected synchronized ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        return track(delegate.heapBuffer(initialCapacity, maxCapacity), initialCapacity);
    }

    @Override
    protected synchronized ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        return track(delegate.directBuffer(initialCapacity, maxCapacity), initialCapacity);
    }

    private ByteBuf track(ByteBuf b, int initialCapacity) {
        allocated.add(b);
        largestRequest = Math.max(largestRequest, initialCapacity);
        return b;
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }

    /** The largest capacity requested, or reached by a buffer still alive. */
    synchronized int largest() {
        int max = largestRequest;
        for (ByteBuf b : allocated) {
            if (b.refCnt() > 0) {
                max = Math.max(max, b.capacity());
            }
        }
        return max;
    }

    synchronized int liveBuffers() {
        int n = 0;
        for (ByteBuf b : allocated) {
            if (b.refCnt() > 0) {
                n++;
            }
        }
        return n;
    }

    synchronized void assertAllReleased() {
        assertThat(liveBuffers()).as("buffers still referenced (leaked) out of %d allocated", allocated.size()).isZero();
    }
}
