package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.Ack;
import io.flashvisor.replication.protocol.Data;
import io.flashvisor.replication.protocol.ErrorCode;
import io.flashvisor.replication.protocol.ErrorMessage;
import io.flashvisor.replication.protocol.MalformedMessageException;
import io.flashvisor.replication.protocol.MessageCodec;
import io.flashvisor.replication.protocol.Nack;
import io.flashvisor.replication.protocol.NackCode;
import io.flashvisor.replication.protocol.PeerMessage;
import io.flashvisor.replication.protocol.Ping;
import io.flashvisor.replication.protocol.Pong;
import io.flashvisor.replication.protocol.ProtocolException;
import io.flashvisor.replication.protocol.Read;
import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.protocol.Replicate;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One authenticated peer connection on the server: decodes requests, checks them, hands them to
 * the {@link ReplicaSink} in arrival order, and writes the replies in completion order (the
 * request id pairs them up, so a slow request does not hold back the ones behind it).
 *
 * <p>Threading: every field is confined to the channel's event loop; a sink completion comes back
 * as a task on the loop. Replies are flushed once per burst: the first reply schedules one flush
 * behind the completions already queued.
 *
 * <p>Back-pressure: at most {@code maxInFlight} requests and {@code maxInFlightBytes} of data
 * (REPLICATE payloads held, READ replies awaited) per connection; one request is always admitted,
 * whatever its size. Beyond that, or while the socket is not writable because the peer does not
 * read its replies, decoded requests wait in a queue and auto-read is off: the server stops
 * reading, TCP pushes back on the peer, and the queue holds at most what the last read delivered.
 */
final class ServerSessionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(ServerSessionHandler.class);

    /** A decoded request and the frame whose buffer its data (for REPLICATE) still points into. */
    private record Pending(InboundFrame frame, PeerMessage message, long cost) {
    }

    private final ReplicaSink sink;
    private final long peerHost;
    private final int peerMaxPayload;
    private final int maxInFlight;
    private final long maxInFlightBytes;
    private final ArrayDeque<Pending> queued = new ArrayDeque<>();
    private final Runnable flushTask = this::flushNow;
    private ChannelHandlerContext ctx;
    private int inFlight;
    private long inFlightBytes;
    private boolean flushScheduled;
    private boolean closed;

    ServerSessionHandler(ReplicationServer.Settings settings, ReplicaSink sink, long peerHost, int peerMaxPayload) {
        this.sink = sink;
        this.peerHost = peerHost;
        this.peerMaxPayload = peerMaxPayload;
        this.maxInFlight = settings.maxInFlight();
        this.maxInFlightBytes = settings.maxInFlightBytes();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof InboundFrame frame)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (closed) {
            frame.release();
            return;
        }
        if (frame.type() == io.flashvisor.replication.protocol.MessageType.ERROR) {
            logPeerError(frame);
            return;
        }
        if (!frame.type().isRequest()) {
            frame.release();
            throw new ProtocolException(ErrorCode.PROTOCOL, "a client sent a " + frame.type() + " frame");
        }
        PeerMessage m;
        try {
            m = MessageCodec.decode(frame.type(), frame.payload());
        } catch (MalformedMessageException e) {
            // The frame is authentic and the stream in step: a bug in the peer, not an attack. Refuse this request only.
            LOG.warn("replication request refused peer={} type={} reason=\"{}\"", peerHost, frame.type(), e.getMessage());
            write(new OutboundFrame(frame.requestId(), new Nack(NackCode.BAD_REQUEST, e.getMessage())));
            frame.release();
            return;
        }
        Pending p = new Pending(frame, m, cost(m));
        if (queued.isEmpty() && admissible(p)) {
            handle(p);
        } else {
            queued.add(p);
        }
        updateAutoRead();
    }

    private void logPeerError(InboundFrame frame) {
        try {
            ErrorMessage e = (ErrorMessage) MessageCodec.decode(frame.type(), frame.payload());
            LOG.warn("replication peer closed the connection peer={} error={} reason=\"{}\"", peerHost, e.code(), e.message());
        } catch (MalformedMessageException e) {
            LOG.warn("replication peer closed the connection peer={} with a malformed ERROR", peerHost);
        } finally {
            frame.release();
        }
        ctx.close();
    }

    private static long cost(PeerMessage m) {
        return switch (m) {
            case Replicate r -> (long) r.blockCount() * io.flashvisor.replication.protocol.FrameFormat.BLOCK_SIZE;
            case Read r -> r.byteLength();
            default -> 0;
        };
    }

    private boolean admissible(Pending p) {
        if (!ctx.channel().isWritable()) {
            return false;
        }
        return inFlight == 0 || (inFlight < maxInFlight && inFlightBytes + p.cost <= maxInFlightBytes);
    }

    private void handle(Pending p) {
        long id = p.frame.requestId();
        String refusal = check(p.message);
        if (refusal != null) {
            LOG.warn("replication request refused peer={} request={} reason=\"{}\"", peerHost, p.message, refusal);
            write(new OutboundFrame(id, new Nack(NackCode.BAD_REQUEST, refusal)));
            p.frame.release();
            return;
        }
        if (p.message instanceof Ping ping) {
            write(new OutboundFrame(id, new Pong(ping.token())));
            p.frame.release();
            return;
        }
        inFlight++;
        inFlightBytes += p.cost;
        CompletableFuture<?> result;
        try {
            result = switch (p.message) {
                case Replicate r -> sink.replicate(peerHost, r);
                case Release r -> sink.release(peerHost, r);
                case Read r -> sink.read(peerHost, r);
                default -> throw new IllegalStateException("not a request: " + p.message.type());
            };
            if (result == null) {
                result = CompletableFuture.failedFuture(new IllegalStateException("the sink returned no future"));
            }
        } catch (RuntimeException e) {
            result = CompletableFuture.failedFuture(e);
        }
        EventLoop loop = ctx.channel().eventLoop();
        result.whenComplete((value, error) -> {
            if (loop.inEventLoop()) {
                completed(p, value, error);
                return;
            }
            try {
                loop.execute(() -> completed(p, value, error));
            } catch (RejectedExecutionException e) {
                p.frame.release(); // the server is gone; nobody will read the reply
            }
        });
    }

    /** Null if the request may go to the sink, else why it may not. */
    private String check(PeerMessage m) {
        return switch (m) {
            case Replicate r when r.originHost() != peerHost ->
                    "origin host " + r.originHost() + " is not the authenticated peer " + peerHost;
            case Release r when r.originHost() != peerHost ->
                    "origin host " + r.originHost() + " is not the authenticated peer " + peerHost;
            case Read r when r.byteLength() > peerMaxPayload ->
                    "a read of " + r.blockCount() + " blocks would not fit the peer's maximum payload of " + peerMaxPayload;
            default -> null;
        };
    }

    private void completed(Pending p, Object value, Throwable error) {
        p.frame.release();
        inFlight--;
        inFlightBytes -= p.cost;
        if (closed) {
            return;
        }
        write(new OutboundFrame(p.frame.requestId(), reply(p.message, value, error)));
        dispatchQueued();
    }

    private PeerMessage reply(PeerMessage request, Object value, Throwable error) {
        if (error != null) {
            Throwable cause = (error instanceof CompletionException || error instanceof ExecutionException) && error.getCause() != null
                    ? error.getCause() : error;
            if (cause instanceof ReplicaException re) {
                return new Nack(re.code(), re.getMessage());
            }
            LOG.warn("replication sink failed peer={} request={}", peerHost, request, cause);
            return new Nack(NackCode.IO, String.valueOf(cause.getMessage()));
        }
        if (request instanceof Read r) {
            if (!(value instanceof ByteBuffer data) || data.remaining() != r.byteLength()) {
                LOG.warn("replication sink answered a read with the wrong size peer={} request={}", peerHost, r);
                return new Nack(NackCode.IO, "the replica store returned the wrong amount of data");
            }
            return new Data(data);
        }
        return Ack.INSTANCE;
    }

    private void dispatchQueued() {
        Pending next;
        while (!closed && (next = queued.peek()) != null && admissible(next)) {
            queued.poll();
            handle(next);
        }
        updateAutoRead();
    }

    private void updateAutoRead() {
        if (closed) {
            return;
        }
        boolean read = queued.isEmpty() && inFlight < maxInFlight && inFlightBytes < maxInFlightBytes && ctx.channel().isWritable();
        if (ctx.channel().config().isAutoRead() != read) {
            ctx.channel().config().setAutoRead(read);
        }
    }

    private void write(OutboundFrame frame) {
        ctx.write(frame, ctx.voidPromise());
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

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            dispatchQueued();
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
        Pending p;
        while ((p = queued.poll()) != null) {
            p.frame.release();
        }
        if (inFlight > 0) {
            LOG.debug("replication connection closed with requests in flight peer={} inFlight={}", peerHost, inFlight);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (closed) {
            return;
        }
        Disconnects.onException(ctx, LOG, "server peer=" + peerHost, cause);
    }

    // For tests.
    int inFlight() {
        return inFlight;
    }
}
