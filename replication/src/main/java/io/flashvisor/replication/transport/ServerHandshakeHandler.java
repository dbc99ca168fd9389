package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.Challenge;
import io.flashvisor.replication.protocol.ClusterSecret;
import io.flashvisor.replication.protocol.ErrorCode;
import io.flashvisor.replication.protocol.ErrorMessage;
import io.flashvisor.replication.protocol.FrameFormat;
import io.flashvisor.replication.protocol.FrameMac;
import io.flashvisor.replication.protocol.Handshakes;
import io.flashvisor.replication.protocol.Hello;
import io.flashvisor.replication.protocol.PeerMessage;
import io.flashvisor.replication.protocol.Proof;
import io.flashvisor.replication.protocol.ProtocolException;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of the handshake (see {@link Handshakes}): HELLO in, CHALLENGE out, the
 * client's PROOF in and checked, our PROOF out; then the frame keys are installed and this handler
 * gives way to a {@link ServerSessionHandler}. The client proves first, so a stranger who connects
 * learns nothing keyed by the secret. A connection that has not authenticated within the
 * handshake timeout is closed, so idle strangers cannot hold connections open.
 */
final class ServerHandshakeHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(ServerHandshakeHandler.class);

    private final ReplicationServer.Settings settings;
    private final ReplicaSink sink;
    private final FrameKeys keys;
    private final FrameEncoder encoder;
    private Hello hello;
    private Challenge challenge;
    private ScheduledFuture<?> timeout;
    private boolean done;
    private boolean tlsFailed;

    ServerHandshakeHandler(ReplicationServer.Settings settings, ReplicaSink sink, FrameKeys keys, FrameEncoder encoder) {
        this.settings = settings;
        this.sink = sink;
        this.keys = keys;
        this.encoder = encoder;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        timeout = ctx.executor().schedule(() -> {
            if (!done) {
                LOG.warn("replication connection closed server remote={} reason=\"no completed handshake within {} ms\"",
                        ctx.channel().remoteAddress(), settings.handshakeTimeout().toMillis());
                Disconnects.closeWithError(ctx, ErrorCode.TIMEOUT, "handshake timed out");
            }
        }, settings.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof InboundFrame frame)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        PeerMessage m = frame.decodeHandshake();
        if (done) {
            return;
        }
        switch (m) {
            case Hello h when hello == null -> onHello(ctx, h);
            case Proof p when hello != null -> onProof(ctx, p);
            case ErrorMessage e -> {
                LOG.info("replication peer gave up the handshake remote={} error={} reason=\"{}\"", ctx.channel().remoteAddress(),
                        e.code(), e.message());
                ctx.close();
            }
            default -> throw new ProtocolException(ErrorCode.PROTOCOL, "unexpected " + m.type() + " in the handshake");
        }
    }

    private void onHello(ChannelHandlerContext ctx, Hello h) {
        if (h.maxPayload() < FrameFormat.MIN_MAX_PAYLOAD || h.maxPayload() > FrameFormat.MAX_MAX_PAYLOAD) {
            throw new ProtocolException(ErrorCode.PROTOCOL, "the client's maximum payload " + h.maxPayload() + " is out of range");
        }
        hello = h;
        challenge = new Challenge(settings.hostId(), settings.maxPayload(), settings.maxInFlight(), Handshakes.newNonce());
        ctx.writeAndFlush(new OutboundFrame(0, challenge), ctx.voidPromise());
    }

    private void onProof(ChannelHandlerContext ctx, Proof p) {
        ClusterSecret secret = settings.secret();
        byte[] transcript = Handshakes.transcript(hello, challenge);
        if (!Handshakes.verify(secret, Handshakes.Role.CLIENT, transcript, p)) {
            throw new ProtocolException(ErrorCode.AUTHENTICATION, "the client claiming host " + hello.hostId()
                    + " does not know the cluster secret (its handshake proof is wrong)");
        }
        done = true;
        timeout.cancel(false);
        Handshakes.SessionKeys k = Handshakes.sessionKeys(secret, transcript);
        keys.receive = new FrameMac(k.clientToServer());
        ctx.writeAndFlush(new OutboundFrame(0, Handshakes.proof(secret, Handshakes.Role.SERVER, transcript)), ctx.voidPromise());
        keys.send = new FrameMac(k.serverToClient());
        encoder.peerMaxPayload = hello.maxPayload();
        LOG.info("replication peer authenticated remote={} peer={}{}", ctx.channel().remoteAddress(), hello.hostId(), tlsInfo(ctx));
        ctx.pipeline().replace(this, ReplicationServer.SESSION,
                new ServerSessionHandler(settings, sink, hello.hostId(), hello.maxPayload()));
    }

    /** With TLS: the protocol version and the peer certificate's subject, for the log line. */
    private static String tlsInfo(ChannelHandlerContext ctx) {
        if (!(ctx.pipeline().get(ReplicationServer.TLS) instanceof SslHandler ssl)) {
            return "";
        }
        SSLSession session = ssl.engine().getSession();
        String subject;
        try {
            subject = session.getPeerPrincipal().getName();
        } catch (SSLPeerUnverifiedException e) {
            subject = "?";
        }
        return " tls=" + session.getProtocol() + " cert=\"" + subject + "\"";
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (timeout != null) {
            timeout.cancel(false);
        }
        ctx.fireChannelInactive();
    }

    /** A failed TLS handshake (no TLS, a certificate of another CA): one line, and the connection ends. */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent e && !e.isSuccess() && !tlsFailed) {
            tlsFailed = true;
            done = true;
            LOG.warn("replication connection closed server (handshake) remote={} error=TLS reason=\"{}\"",
                    ctx.channel().remoteAddress(), Disconnects.tlsFailure("TLS handshake failed", e.cause()));
            ctx.close();
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        done = true;
        if (tlsFailed && Disconnects.isTls(cause)) {
            ctx.close(); // said already
            return;
        }
        Disconnects.onException(ctx, LOG, "server (handshake)", cause);
    }
}
