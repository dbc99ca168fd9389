package io.flashvisor.nbd.server;

import io.netty.channel.SelectStrategy;
import io.netty.channel.SelectStrategyFactory;
import io.netty.util.IntSupplier;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * Lets an event loop poll instead of sleeping while one of its requests is in flight, for at most
 * {@link #WINDOW_NANOS} after the last dispatch.
 *
 * <p>Why: a request makes two thread hand-offs (event loop to the volume call's thread and back).
 * If the loop sleeps in {@code epoll_wait} in between, the reply waits for the kernel to wake the
 * loop, which on a virtual machine costs tens of microseconds, several times a fast flash read.
 * Polling with a zero timeout runs the completion as soon as it is queued. The window is short, so a
 * slow backing store does not make the loop spin; with nothing in flight the loop sleeps as usual.
 */
final class BusyPoll implements SelectStrategy {
    static final long WINDOW_NANOS = Long.getLong("nbd.spin", 50_000);

    /** Per event-loop thread: [requests in flight, deadline of the polling window]. */
    private static final FastThreadLocal<long[]> STATE = new FastThreadLocal<>() {
        @Override
        protected long[] initialValue() {
            return new long[2];
        }
    };

    static final SelectStrategyFactory FACTORY = BusyPoll::new;

    /** Called on an event loop when a request leaves for the volume executor. */
    static void dispatched() {
        long[] s = STATE.get();
        s[0]++;
        s[1] = System.nanoTime() + WINDOW_NANOS;
    }

    /** Called on an event loop when a request's completion comes back. */
    static void completed() {
        long[] s = STATE.get();
        if (s[0] > 0) {
            s[0]--;
        }
    }

    @Override
    public int calculateStrategy(IntSupplier selectSupplier, boolean hasTasks) throws Exception {
        if (hasTasks) {
            return selectSupplier.get();
        }
        long[] s = STATE.get();
        if (s[0] > 0 && WINDOW_NANOS > 0 && System.nanoTime() - s[1] < 0) {
            return selectSupplier.get();
        }
        return SelectStrategy.SELECT;
    }
}
