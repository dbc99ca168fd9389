package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transmission phase of one connection: validates each {@link Request}, runs it on the volume
 * executor, and writes replies in completion order (the spec allows out-of-order replies).
 *
 * <p>Threading: every field is confined to the channel's event loop. A request leaves the loop
 * only to run its blocking volume call ({@link CommandRunner}); the reply comes back as a task on
 * the loop. Writes are not flushed one by one: the first reply of a burst schedules one flush task
 * behind the completions already queued, so many replies leave in one system call while a lone
 * reply still leaves at once.
 *
 * <p>Backpressure: at most {@link #MAX_IN_FLIGHT} requests and {@link #MAX_IN_FLIGHT_BYTES} bytes
 * of read and write payload are in flight per connection (one request is always admitted, whatever
 * its size, so a maximum-size request still runs). Beyond that, or while the socket is not
 * writable because the client does not read its replies, decoded requests wait in a queue and
 * auto-read is switched off, so the server stops reading from the socket. The queue can only grow
 * by what the last read already delivered.
 *
 * <p>Endings: {@code NBD_CMD_DISC} stops reading, lets queued and in-flight requests finish, flushes
 * and closes. A server drain ({@link #startDrain}) lets in-flight requests finish and answers
 * queued and new ones with {@code ESHUTDOWN}.
 */
final class TransmissionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(TransmissionHandler.class);

    /** Requests running at once per connection: above the queue depths clients use (qemu 16, fio 32-64). */
    static final int MAX_IN_FLIGHT = 64;
    /** Payload bytes (read buffers plus write payloads) held at once per connection. */
    static final long MAX_IN_FLIGHT_BYTES = 64L << 20;

    private final ServerContext server;
    private final Session session;
    private final CommandRunner runner;
    private final Executor executor;

    private final ArrayDeque<Request> queued = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private int inFlight;
    private long inFlightBytes;
    private boolean flushScheduled;
    private boolean disconnecting;
    private boolean closing;
    private boolean draining;
    private boolean closed;
    private CompletableFuture<Void> drained;
    private final Runnable flushTask = this::flushNow;

    TransmissionHandler(ServerContext server, Session session) {
        this.server = server;
        this.session = session;
        this.runner = new CommandRunner(session);
        this.executor = server.volumeExecutor();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        server.registry().register(this);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Request r)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (disconnecting || closed) {
            r.release(); // nothing may follow DISC
            return;
        }
        if (queued.isEmpty() && (draining || admissible(r))) {
            handle(r);
        } else {
            queued.add(r);
        }
        updateAutoRead();
    }

    private static long cost(Request r) {
        return r.type == CMD_READ || r.type == CMD_WRITE ? r.length : 0;
    }

    private boolean admissible(Request r) {
        if (!ctx.channel().isWritable()) {
            return false;
        }
        return inFlight == 0 || (inFlight < MAX_IN_FLIGHT && inFlightBytes + cost(r) <= MAX_IN_FLIGHT_BYTES);
    }

    private void handle(Request r) {
        if (r.type == CMD_DISC) {
            r.release();
            disconnecting = true;
            releaseQueued(); // the client must not send anything after DISC
            maybeFinish();
            return;
        }
        if (draining) {
            write(runner.error(r.cookie, ESHUTDOWN, "the server is shutting down"));
            r.release();
            return;
        }
        RequestValidator.Rejection rejection = RequestValidator.check(r, session);
        if (rejection != null) {
            LOG.debug("request refused export={} request=[{}] error={} message=\"{}\"", session.export().name(), r,
                    NbdErrors.name(rejection.error()), rejection.message());
            write(runner.error(r.cookie, rejection.error(), rejection.message()));
            r.release();
            return;
        }
        if (r.length == 0 && r.type != CMD_FLUSH) {
            // Nothing to do; the volume is not asked about empty ranges.
            write(r.type == CMD_READ && session.structuredReplies() ? new Reply.Done(r.cookie) : new Reply.Simple(r.cookie, 0));
            r.release();
            return;
        }
        ByteBuf readBuffer = r.type == CMD_READ ? ctx.alloc().directBuffer((int) r.length) : null;
        long cost = cost(r);
        inFlight++;
        inFlightBytes += cost;
        EventLoop loop = ctx.channel().eventLoop();
        CompletableFuture<Reply> fast = runner.tryFast(r, readBuffer);
        if (fast != null) {
            // The volume served it without blocking (a cache hit, a write queued for group commit):
            // no worker hand-off. The reply may complete here or on the volume's thread.
            fast.thenAccept(reply -> complete(loop, reply, r, cost));
            return;
        }
        try {
            // The request (and its write payload) is released back on the event loop: buffers are
            // cheapest to free on the thread that allocated them.
            executor.execute(() -> complete(loop, runner.run(r, readBuffer), r, cost));
        } catch (RejectedExecutionException e) {
            inFlight--;
            inFlightBytes -= cost;
            if (readBuffer != null) {
                readBuffer.release();
            }
            r.release();
            write(runner.error(r.cookie, ESHUTDOWN, "the server is shutting down"));
        }
    }

    /** Called where the volume call ran: hands the reply back to the event loop. */
    private void complete(EventLoop loop, Reply reply, Request r, long cost) {
        if (loop.inEventLoop()) {
            completed(reply, r, cost); // an executor that ran the call on the loop itself (tests)
            return;
        }
        try {
            loop.execute(() -> completed(reply, r, cost));
        } catch (RejectedExecutionException e) {
            // The event loop is gone: the connection was force-closed.
            r.release();
            ReferenceCountUtil.release(reply);
        }
    }

    private void completed(Reply reply, Request r, long cost) {
        r.release();
        inFlight--;
        inFlightBytes -= cost;
        if (closed) {
            ReferenceCountUtil.release(reply);
        } else {
            write(reply);
        }
        dispatchQueued();
        maybeFinish();
    }

    private void dispatchQueued() {
        Request next;
        while (!disconnecting && (next = queued.peek()) != null && (draining || admissible(next))) {
            queued.poll();
            handle(next);
        }
        updateAutoRead();
    }

    private void updateAutoRead() {
        if (closed) {
            return;
        }
        boolean read = !disconnecting && queued.isEmpty() && inFlight < MAX_IN_FLIGHT
                && inFlightBytes < MAX_IN_FLIGHT_BYTES && ctx.channel().isWritable();
        if (ctx.channel().config().isAutoRead() != read) {
            ctx.channel().config().setAutoRead(read);
        }
    }

    private void write(Reply reply) {
        ctx.write(reply, ctx.voidPromise());
        if (!flushScheduled) {
            flushScheduled = true;
            ctx.channel().eventLoop().execute(flushTask);
        }
    }

    private void flushNow() {
        flushScheduled = false;
        if (!closed) {
            ctx.flush();
        }
    }

    private void maybeFinish() {
        if (inFlight > 0 || !queued.isEmpty() || closed) {
            return;
        }
        if (disconnecting && !closing) {
            closing = true;
            // Closes once everything written before has left (a plain close could drop unsent replies).
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else if (draining && drained != null && !drained.isDone()) {
            CompletableFuture<Void> f = drained;
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(done -> f.complete(null));
        }
    }

    /**
     * Starts draining for server shutdown (from any thread). The future completes once no request
     * is in flight and the replies are flushed, or when the connection closes.
     */
    CompletableFuture<Void> startDrain() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        try {
            ctx.channel().eventLoop().execute(() -> {
                draining = true;
                drained = f;
                if (closed) {
                    f.complete(null);
                    return;
                }
                dispatchQueued(); // answers what waits in the queue with ESHUTDOWN
                maybeFinish();
            });
        } catch (RejectedExecutionException e) {
            f.complete(null);
        }
        return f;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            dispatchQueued();
            maybeFinish();
        } else {
            updateAutoRead();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        shutDown();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        shutDown();
    }

    private void shutDown() {
        if (closed) {
            return;
        }
        closed = true;
        releaseQueued();
        server.registry().unregister(this);
        if (drained != null) {
            drained.complete(null);
        }
        if (inFlight > 0) {
            LOG.debug("connection closed with requests in flight export={} inFlight={}", session.export().name(), inFlight);
        }
    }

    private void releaseQueued() {
        Request r;
        while ((r = queued.poll()) != null) {
            r.release();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (closed || cause instanceof ClosedChannelException) {
            return;
        }
        if (cause instanceof DecoderException) {
            LOG.info("closing connection remote={} export={} reason=\"{}\"", ctx.channel().remoteAddress(),
                    session.export().name(), Exceptions.describe(cause));
        } else if (cause instanceof IOException) {
            LOG.debug("connection error remote={} export={} reason=\"{}\"", ctx.channel().remoteAddress(),
                    session.export().name(), cause.toString());
        } else {
            LOG.warn("closing connection remote={} export={} after unexpected error", ctx.channel().remoteAddress(),
                    session.export().name(), cause);
        }
        ctx.close();
    }

    // For tests and metrics.
    int inFlight() {
        return inFlight;
    }

    int queued() {
        return queued.size();
    }
}
