package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.Data;
import io.flashvisor.replication.protocol.ErrorCode;
import io.flashvisor.replication.protocol.ErrorMessage;
import io.flashvisor.replication.protocol.MalformedMessageException;
import io.flashvisor.replication.protocol.MessageCodec;
import io.flashvisor.replication.protocol.MessageType;
import io.flashvisor.replication.protocol.Nack;
import io.flashvisor.replication.protocol.PeerMessage;
import io.flashvisor.replication.protocol.Ping;
import io.flashvisor.replication.protocol.ProtocolException;
import io.flashvisor.replication.protocol.Read;
import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.protocol.Replicate;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An authenticated connection to one peer, made by {@link PeerConnector#connect}. Pipelined: any
 * number of requests (up to {@code maxOutstanding}) may be outstanding; each returns a future
 * completed by its reply, whatever order the peer answers in.
 *
 * <p>Failures: a NACK fails the request's future with {@link ReplicaException} (the connection
 * lives on); no reply within the request timeout fails it with {@link TimeoutException} (the
 * connection lives on, and a late reply is ignored); a lost connection fails every outstanding
 * request, and every later one, with {@link PeerConnectionException}. It never reconnects.
 *
 * <p>Thread-safe: requests may be sent from any thread. Futures complete on the connection's
 * event-loop thread, so dependent stages must not block (use the {@code *Async} variants to move
 * blocking work elsewhere). A {@link Replicate}'s data buffer is read on that thread after the
 * call returns: leave it unchanged until the future completes.
 */
public final class PeerClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PeerClient.class);

    /** A request waiting for its reply. */
    private record Pending(MessageType request, CompletableFuture<Object> future, long sentNanos, long deadlineNanos) {
    }

    private final Channel channel;
    private final EventLoop loop;
    private final InetSocketAddress address;
    private final long peerHostId;
    private final int peerMaxPayload;
    private final PeerConnector.Settings settings;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong nextRequestId = new AtomicLong();
    private final AtomicInteger outstanding = new AtomicInteger();
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    private final Handler handler = new Handler();
    private volatile boolean closed;
    /** Why the connection ended, for the exception outstanding requests fail with. */
    private volatile String closeReason;

    PeerClient(Channel channel, InetSocketAddress address, long peerHostId, int peerMaxPayload, PeerConnector.Settings settings) {
        this.channel = channel;
        this.loop = channel.eventLoop();
        this.address = address;
        this.peerHostId = peerHostId;
        this.peerMaxPayload = peerMaxPayload;
        this.settings = settings;
    }

    ChannelInboundHandler handler() {
        return handler;
    }

    public long peerHostId() {
        return peerHostId;
    }

    public InetSocketAddress address() {
        return address;
    }

    /** The largest payload the peer accepts, from its handshake. */
    public int peerMaxPayload() {
        return peerMaxPayload;
    }

    /** Requests sent and not yet answered, timed out or failed. */
    public int outstanding() {
        return outstanding.get();
    }

    /** The TLS session under the protocol, or null on a plain connection. */
    public SSLSession tlsSession() {
        return channel.pipeline().get(ReplicationServer.TLS) instanceof SslHandler ssl ? ssl.engine().getSession() : null;
    }

    public boolean isOpen() {
        return !closed;
    }

    /** Completes when the connection has ended, for whatever reason. */
    public CompletableFuture<Void> closeFuture() {
        return closeFuture;
    }

    /** Completes once the peer holds the blocks durably. */
    public CompletableFuture<Void> replicate(Replicate m) {
        return send(m).thenApply(v -> null);
    }

    public CompletableFuture<Void> release(Release m) {
        return send(m).thenApply(v -> null);
    }

    /** The blocks, in a new heap buffer of {@code m.byteLength()} bytes. */
    public CompletableFuture<ByteBuffer> read(Read m) {
        return send(m).thenApply(ByteBuffer.class::cast);
    }

    /** The round-trip time. */
    public CompletableFuture<Duration> ping() {
        return send(new Ping(System.nanoTime())).thenApply(Duration.class::cast);
    }

    private CompletableFuture<Object> send(PeerMessage m) {
        if (closed) {
            return CompletableFuture.failedFuture(lost());
        }
        int size = MessageCodec.payloadSize(m);
        if (size > peerMaxPayload || (m instanceof Read r && r.byteLength() > settings.maxPayload())) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(m.type() + " of " + size
                    + " bytes (or its reply) exceeds the limit of peer " + peerHostId + " or of this host"));
        }
        if (outstanding.incrementAndGet() > settings.maxOutstanding()) {
            outstanding.decrementAndGet();
            return CompletableFuture.failedFuture(new RejectedExecutionException(settings.maxOutstanding()
                    + " requests are already outstanding to peer " + peerHostId));
        }
        long id = nextRequestId.incrementAndGet();
        long now = System.nanoTime();
        Pending p = new Pending(m.type(), new CompletableFuture<>(), now, now + settings.requestTimeout().toNanos());
        pending.put(id, p);
        if (closed) {
            // The connection ended between the check above and the put; whoever removes it fails it.
            fail(id, lost());
            return p.future;
        }
        OutboundFrame frame = new OutboundFrame(id, m);
        if (loop.inEventLoop()) {
            handler.write(frame);
        } else {
            try {
                loop.execute(() -> handler.write(frame));
            } catch (RejectedExecutionException e) {
                fail(id, lost());
            }
        }
        return p.future;
    }

    private void fail(long id, Throwable cause) {
        Pending p = pending.remove(id);
        if (p != null) {
            outstanding.decrementAndGet();
            p.future.completeExceptionally(cause);
        }
    }

    private PeerConnectionException lost() {
        String reason = closeReason;
        return new PeerConnectionException("connection to replication peer " + peerHostId + " at " + address + " is closed"
                + (reason == null ? "" : ": " + reason));
    }

    /** Closes the connection; outstanding requests fail with {@link PeerConnectionException}. Idempotent. */
    @Override
    public void close() {
        if (closeReason == null) {
            closeReason = "closed by this host";
        }
        channel.close();
    }

    /** The pipeline end of the connection; all of it runs on the event loop. */
    private final class Handler extends ChannelInboundHandlerAdapter {
        private ChannelHandlerContext ctx;
        private boolean flushScheduled;
        private ScheduledFuture<?> sweeper;
        private final Runnable flushTask = this::flushNow;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
            long period = Math.max(5, Math.min(100, settings.requestTimeout().toMillis() / 4));
            sweeper = ctx.executor().scheduleAtFixedRate(this::expire, period, period, TimeUnit.MILLISECONDS);
        }

        void write(OutboundFrame frame) {
            if (!ctx.channel().isActive()) {
                fail(frame.requestId(), lost());
                return;
            }
            ctx.write(frame).addListener(done -> {
                if (!done.isSuccess()) {
                    fail(frame.requestId(), new PeerConnectionException("cannot send " + frame.message().type() + " to peer "
                            + peerHostId + ": " + done.cause().getMessage(), done.cause()));
                }
            });
            if (!flushScheduled) {
                flushScheduled = true;
                ctx.channel().eventLoop().execute(flushTask);
            }
        }

        private void flushNow() {
            flushScheduled = false;
            ctx.flush();
        }

        private void expire() {
            long now = System.nanoTime();
            for (Map.Entry<Long, Pending> e : pending.entrySet()) {
                if (now - e.getValue().deadlineNanos >= 0) {
                    fail(e.getKey(), new TimeoutException(e.getValue().request + " to replication peer " + peerHostId + " at "
                            + address + " got no reply within " + settings.requestTimeout().toMillis() + " ms"));
                }
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof InboundFrame frame)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            try {
                onFrame(frame);
            } finally {
                frame.release();
            }
        }

        private void onFrame(InboundFrame frame) {
            PeerMessage m;
            try {
                m = MessageCodec.decode(frame.type(), frame.payload());
            } catch (MalformedMessageException e) {
                throw new ProtocolException(ErrorCode.PROTOCOL, "malformed " + frame.type() + " from the peer: " + e.getMessage());
            }
            if (m instanceof ErrorMessage e) {
                closeReason = "the peer closed it: " + e.code() + " (" + e.message() + ")";
                LOG.warn("replication peer closed the connection peer={} address={} error={} reason=\"{}\"", peerHostId, address,
                        e.code(), e.message());
                ctx.close();
                return;
            }
            if (!frame.type().isReply()) {
                throw new ProtocolException(ErrorCode.PROTOCOL, "a server sent a " + frame.type() + " frame");
            }
            Pending p = pending.remove(frame.requestId());
            if (p == null) {
                LOG.debug("replication reply for no outstanding request (timed out?) peer={} id={} type={}", peerHostId,
                        frame.requestId(), frame.type());
                return;
            }
            outstanding.decrementAndGet();
            if (m instanceof Nack n) {
                p.future.completeExceptionally(new ReplicaException(n.code(), n.message()));
                return;
            }
            Object value = switch (p.request) {
                case REPLICATE, RELEASE -> m.type() == MessageType.ACK ? Boolean.TRUE : null;
                case READ -> m instanceof Data d ? copy(d.data()) : null;
                case PING -> m.type() == MessageType.PONG ? Duration.ofNanos(System.nanoTime() - p.sentNanos) : null;
                default -> null;
            };
            if (value == null) {
                ProtocolException e = new ProtocolException(ErrorCode.PROTOCOL, m.type() + " is no reply to " + p.request);
                p.future.completeExceptionally(e);
                throw e;
            }
            p.future.complete(value == Boolean.TRUE ? null : value);
        }

        private ByteBuffer copy(ByteBuffer data) {
            // The reply's buffer goes back to the pool when this frame is released; the caller keeps a copy.
            ByteBuffer out = ByteBuffer.allocate(data.remaining());
            out.put(data).flip();
            return out;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closed = true;
            if (sweeper != null) {
                sweeper.cancel(false);
            }
            if (closeReason == null) {
                closeReason = "connection lost";
            }
            PeerConnectionException cause = lost();
            int failed = 0;
            for (Long id : pending.keySet()) {
                Pending p = pending.remove(id);
                if (p != null) {
                    outstanding.decrementAndGet();
                    p.future.completeExceptionally(cause);
                    failed++;
                }
            }
            if (failed > 0) {
                LOG.warn("replication connection lost peer={} address={} failedRequests={} reason=\"{}\"", peerHostId, address, failed,
                        closeReason);
            }
            closeFuture.complete(null);
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ProtocolException pe = Disconnects.protocolCause(cause);
            if (closeReason == null) {
                closeReason = pe != null ? pe.getMessage() : cause.toString();
            }
            Disconnects.onException(ctx, LOG, "client peer=" + peerHostId, cause);
        }
    }
}
