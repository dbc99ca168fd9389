package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.Challenge;
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
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of the handshake (see {@link Handshakes}): HELLO out — with TLS, only once the
 * TLS handshake has completed — CHALLENGE in, our PROOF out, the server's PROOF in and checked;
 * then it installs the frame keys, gives way to the {@link PeerClient}'s handler and completes the
 * connect future. Any failure fails that future with a {@link PeerConnectionException} saying what
 * went wrong.
 */
final class ClientHandshakeHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(ClientHandshakeHandler.class);

    private final PeerConnector.Settings settings;
    private final InetSocketAddress address;
    private final long expectedHostId;
    private final FrameKeys keys;
    private final FrameEncoder encoder;
    private final CompletableFuture<PeerClient> connected;
    private Hello hello;
    private Challenge challenge;
    private Handshakes.SessionKeys sessionKeys;
    private String failure;

    ClientHandshakeHandler(PeerConnector.Settings settings, InetSocketAddress address, long expectedHostId, FrameKeys keys,
                           FrameEncoder encoder, CompletableFuture<PeerClient> connected) {
        this.settings = settings;
        this.address = address;
        this.expectedHostId = expectedHostId;
        this.keys = keys;
        this.encoder = encoder;
        this.connected = connected;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (ctx.pipeline().get(ReplicationServer.TLS) == null) {
            sendHello(ctx);
        } // else HELLO goes out once TLS is up (userEventTriggered)
        ctx.fireChannelActive();
    }

    private void sendHello(ChannelHandlerContext ctx) {
        hello = new Hello(settings.hostId(), settings.maxPayload(), Handshakes.newNonce());
        ctx.writeAndFlush(new OutboundFrame(0, hello), ctx.voidPromise());
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent e) {
            if (e.isSuccess()) {
                if (hello == null && !connected.isDone()) {
                    sendHello(ctx);
                }
            } else {
                if (failure == null) {
                    failure = Disconnects.tlsFailure("TLS handshake with replication peer at " + address + " failed", e.cause());
                }
                ctx.close();
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof InboundFrame frame)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        PeerMessage m = frame.decodeHandshake();
        if (connected.isDone()) {
            return; // timed out meanwhile; the channel is closing
        }
        switch (m) {
            case Challenge c when challenge == null -> onChallenge(ctx, c);
            case Proof p when challenge != null -> onProof(ctx, p);
            case ErrorMessage e -> {
                failure = "replication peer at " + address + " refused the handshake: " + e.code() + " (" + e.message() + ")"
                        + (e.code() == ErrorCode.AUTHENTICATION ? "; check that both hosts have the same cluster secret" : "");
                ctx.close();
            }
            default -> throw new ProtocolException(ErrorCode.PROTOCOL, "unexpected " + m.type() + " in the handshake");
        }
    }

    private void onChallenge(ChannelHandlerContext ctx, Challenge c) {
        if (expectedHostId != 0 && c.hostId() != expectedHostId) {
            throw new ProtocolException(ErrorCode.PROTOCOL, "the peer at " + address + " is host " + c.hostId() + ", not host "
                    + expectedHostId);
        }
        if (c.maxPayload() < FrameFormat.MIN_MAX_PAYLOAD || c.maxPayload() > FrameFormat.MAX_MAX_PAYLOAD || c.maxInFlight() < 1) {
            throw new ProtocolException(ErrorCode.PROTOCOL, "the peer's limits are out of range: " + c);
        }
        challenge = c;
        byte[] transcript = Handshakes.transcript(hello, c);
        ctx.writeAndFlush(new OutboundFrame(0, Handshakes.proof(settings.secret(), Handshakes.Role.CLIENT, transcript)),
                ctx.voidPromise());
        sessionKeys = Handshakes.sessionKeys(settings.secret(), transcript);
        keys.send = new FrameMac(sessionKeys.clientToServer());
        encoder.peerMaxPayload = c.maxPayload();
    }

    private void onProof(ChannelHandlerContext ctx, Proof p) {
        byte[] transcript = Handshakes.transcript(hello, challenge);
        if (!Handshakes.verify(settings.secret(), Handshakes.Role.SERVER, transcript, p)) {
            throw new ProtocolException(ErrorCode.AUTHENTICATION, "the peer at " + address + " claiming host " + challenge.hostId()
                    + " does not know the cluster secret (its handshake proof is wrong)");
        }
        keys.receive = new FrameMac(sessionKeys.serverToClient());
        PeerClient client = new PeerClient(ctx.channel(), address, challenge.hostId(), challenge.maxPayload(), settings);
        ctx.pipeline().replace(this, ReplicationServer.SESSION, client.handler());
        LOG.debug("replication connected address={} peer={}", address, challenge.hostId());
        if (!connected.complete(client)) {
            client.close(); // the deadline passed just now
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        connected.completeExceptionally(new PeerConnectionException(failure != null ? failure
                : "replication peer at " + address + " closed the connection during the handshake"
                        + (settings.tls() == null ? " (if it requires TLS, configure cluster.peer-tls on this host too)" : "")));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ProtocolException pe = Disconnects.protocolCause(cause);
        if (failure == null) {
            failure = Disconnects.isTls(cause)
                    ? Disconnects.tlsFailure("TLS handshake with replication peer at " + address + " failed", cause)
                    : "replication handshake with " + address + " failed: " + (pe != null ? pe.getMessage() : cause.toString());
        }
        Disconnects.onException(ctx, LOG, "client (handshake) address=" + address, cause);
    }
}
