package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;

import io.flashvisor.nbd.Export;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The option-haggling state machine of the fixed newstyle handshake (spec "Handshake"). On
 * {@code NBD_OPT_GO} or {@code NBD_OPT_EXPORT_NAME} it replaces the handshake codec and itself by
 * the transmission pipeline ({@link RequestDecoder}, {@link ReplyEncoder}, {@link TransmissionHandler}).
 *
 * <p>State kept per connection: the client flags, whether TLS is up, whether structured replies were
 * negotiated, and which export {@code base:allocation} was selected for. TLS mode: a listener with
 * TLS runs in FORCEDTLS mode (every option but STARTTLS and ABORT gets {@code NBD_REP_ERR_TLS_REQD}
 * until TLS is up, and {@code NBD_OPT_EXPORT_NAME} before TLS disconnects, as it cannot fail
 * softly); a listener without TLS answers STARTTLS with {@code NBD_REP_ERR_POLICY}.
 *
 * <p>Pipeline names: {@value #DECODER}, {@value #ENCODER}, {@value #HANDLER}, and {@value #TLS}
 * in front once STARTTLS succeeded.
 */
final class HandshakeHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(HandshakeHandler.class);

    static final String TLS = "nbd-tls";
    static final String DECODER = "nbd-handshake-decoder";
    static final String ENCODER = "nbd-handshake-encoder";
    static final String HANDLER = "nbd-handshake";
    static final String REQUEST_DECODER = "nbd-request-decoder";
    static final String REPLY_ENCODER = "nbd-reply-encoder";
    static final String TRANSMISSION = "nbd-transmission";

    /** The id this server gives {@code base:allocation} in {@code NBD_OPT_SET_META_CONTEXT}. */
    static final int BASE_ALLOCATION_ID = 1;

    private static final int KNOWN_CLIENT_FLAGS = FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES;

    private final ServerContext server;
    private final SslContext ssl;

    private boolean noZeroes;
    private boolean tlsActive;
    private boolean structuredReplies;
    /** The export {@code base:allocation} was selected for by the last SET_META_CONTEXT, or null. */
    private Export metaContextExport;
    /** Set once the connection closes or moves to transmission: later input is ignored. */
    private boolean done;

    /** @param ssl the TLS context of the listener, or null for a plaintext listener */
    HandshakeHandler(ServerContext server, SslContext ssl) {
        this.server = server;
        this.ssl = ssl;
    }

    /** Adds the handshake codec and handler to a new connection's pipeline. */
    static void install(ChannelPipeline p, ServerContext server, SslContext ssl) {
        p.addLast(DECODER, new HandshakeDecoder());
        p.addLast(ENCODER, new HandshakeEncoder());
        p.addLast(HANDLER, new HandshakeHandler(server, ssl));
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.writeAndFlush(new HandshakeMessage.Greeting(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES));
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (done) {
                return;
            }
            switch (msg) {
                case HandshakeMessage.ClientFlags f -> onClientFlags(ctx, f.flags());
                case HandshakeMessage.Option o -> onOption(ctx, o.option(), o.data());
                default -> throw new IllegalStateException("unexpected message " + msg);
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onClientFlags(ChannelHandlerContext ctx, int flags) {
        if ((flags & ~KNOWN_CLIENT_FLAGS) != 0) {
            hardDisconnect(ctx, "unknown client flags 0x" + Integer.toHexString(flags));
            return;
        }
        // A client without FIXED_NEWSTYLE is served as fixed newstyle anyway (the spec allows it);
        // such old clients only ever send EXPORT_NAME.
        noZeroes = (flags & FLAG_C_NO_ZEROES) != 0;
    }

    private void onOption(ChannelHandlerContext ctx, int option, byte[] data) {
        LOG.debug("option remote={} option={} length={}", ctx.channel().remoteAddress(), Commands.optionName(option), data.length);
        if (option == OPT_ABORT) {
            // Data with ABORT is ignored, as the spec asks; then a soft disconnect.
            done = true;
            ctx.writeAndFlush(OptionReplies.ack(option)).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        if (ssl != null && !tlsActive) {
            switch (option) {
                case OPT_STARTTLS -> startTls(ctx, data);
                case OPT_EXPORT_NAME -> hardDisconnect(ctx, "NBD_OPT_EXPORT_NAME before STARTTLS on a TLS listener");
                default -> reply(ctx, OptionReplies.error(option, REP_ERR_TLS_REQD,
                        "this server requires TLS: send NBD_OPT_STARTTLS first"));
            }
            return;
        }
        if (server.registry().shuttingDown()) {
            if (option == OPT_EXPORT_NAME) {
                hardDisconnect(ctx, "NBD_OPT_EXPORT_NAME while the server shuts down");
            } else {
                reply(ctx, OptionReplies.error(option, REP_ERR_SHUTDOWN, "the server is shutting down"));
            }
            return;
        }
        switch (option) {
            case OPT_EXPORT_NAME -> exportName(ctx, data);
            case OPT_LIST -> list(ctx, data);
            case OPT_STARTTLS -> startTls(ctx, data);
            case OPT_INFO, OPT_GO -> infoOrGo(ctx, option, data);
            case OPT_STRUCTURED_REPLY -> {
                if (data.length != 0) {
                    reply(ctx, OptionReplies.error(option, REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data"));
                } else {
                    structuredReplies = true;
                    reply(ctx, OptionReplies.ack(option));
                }
            }
            case OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT -> metaContext(ctx, option, data);
            default -> reply(ctx, OptionReplies.error(option, REP_ERR_UNSUP,
                    "option " + Commands.optionName(option) + " is not supported"));
        }
    }

    private void exportName(ChannelHandlerContext ctx, byte[] data) {
        String name = new String(data, StandardCharsets.UTF_8);
        Optional<Export> export = data.length <= MAX_STRING ? server.catalog().find(name) : Optional.empty();
        if (export.isEmpty()) {
            // EXPORT_NAME cannot fail softly: the spec says terminate the session.
            hardDisconnect(ctx, "NBD_OPT_EXPORT_NAME for unknown export '" + name + "'");
            return;
        }
        Session session = session(export.get());
        ctx.write(new HandshakeMessage.ExportNameReply(session.export().volume().size(), session.transmissionFlags(), !noZeroes));
        enterTransmission(ctx, session);
    }

    private void list(ChannelHandlerContext ctx, byte[] data) {
        if (data.length != 0) {
            reply(ctx, OptionReplies.error(OPT_LIST, REP_ERR_INVALID, "NBD_OPT_LIST takes no data"));
            return;
        }
        for (Export e : server.catalog().list()) {
            ctx.write(OptionReplies.server(OPT_LIST, e));
        }
        reply(ctx, OptionReplies.ack(OPT_LIST));
    }

    private void startTls(ChannelHandlerContext ctx, byte[] data) {
        if (ssl == null) {
            reply(ctx, OptionReplies.error(OPT_STARTTLS, REP_ERR_POLICY, "TLS is not configured on this listener"));
            return;
        }
        if (data.length != 0) {
            reply(ctx, OptionReplies.error(OPT_STARTTLS, REP_ERR_INVALID, "NBD_OPT_STARTTLS takes no data"));
            return;
        }
        if (tlsActive) {
            reply(ctx, OptionReplies.error(OPT_STARTTLS, REP_ERR_INVALID, "TLS is already active"));
            return;
        }
        HandshakeDecoder decoder = ctx.pipeline().get(HandshakeDecoder.class);
        if (decoder != null && decoder.pendingBytes() > 0) {
            // The client must wait for our ACK before its TLS hello; bytes already here are not TLS we can use.
            hardDisconnect(ctx, "data sent after NBD_OPT_STARTTLS before the server's reply");
            return;
        }
        tlsActive = true;
        // No negotiation state survives STARTTLS (spec NBD_OPT_STARTTLS).
        structuredReplies = false;
        metaContextExport = null;
        // The ACK goes out in plaintext: it passes the pipeline before the TLS handler exists.
        ctx.writeAndFlush(OptionReplies.ack(OPT_STARTTLS));
        SslHandler tls = ssl.newHandler(ctx.alloc());
        ctx.pipeline().addFirst(TLS, tls);
    }

    private void infoOrGo(ChannelHandlerContext ctx, int option, byte[] data) {
        OptionParser.ExportRequest request;
        try {
            request = OptionParser.exportRequest(data);
        } catch (OptionParser.Malformed e) {
            reply(ctx, OptionReplies.error(option, REP_ERR_INVALID, e.getMessage()));
            return;
        }
        Optional<Export> found = server.catalog().find(request.name());
        if (found.isEmpty()) {
            reply(ctx, OptionReplies.error(option, REP_ERR_UNKNOWN, request.name().isEmpty()
                    ? "there is no default export; name one of those NBD_OPT_LIST shows"
                    : "no export named '" + request.name() + "'"));
            return;
        }
        Session session = session(found.get());
        Export export = session.export();
        ctx.write(OptionReplies.infoExport(option, export.volume().size(), session.transmissionFlags()));
        if (request.wants(INFO_NAME)) {
            ctx.write(OptionReplies.infoString(option, INFO_NAME, export.name()));
        }
        if (request.wants(INFO_DESCRIPTION) && !export.description().isEmpty()) {
            ctx.write(OptionReplies.infoString(option, INFO_DESCRIPTION, export.description()));
        }
        // Sent even when not asked for: clients ignore what they do not understand, and it is how a
        // client learns the maximum payload.
        ctx.write(OptionReplies.infoBlockSize(option, session.sizes()));
        if (option == OPT_INFO) {
            reply(ctx, OptionReplies.ack(option));
            return;
        }
        ctx.write(OptionReplies.ack(option));
        enterTransmission(ctx, session);
    }

    private void metaContext(ChannelHandlerContext ctx, int option, byte[] data) {
        boolean set = option == OPT_SET_META_CONTEXT;
        if (set) {
            metaContextExport = null; // replaced even if this request fails
        }
        if (!structuredReplies) {
            reply(ctx, OptionReplies.error(option, REP_ERR_INVALID, "negotiate NBD_OPT_STRUCTURED_REPLY first"));
            return;
        }
        OptionParser.MetaRequest request;
        try {
            request = OptionParser.metaRequest(data);
        } catch (OptionParser.Malformed e) {
            reply(ctx, OptionReplies.error(option, REP_ERR_INVALID, e.getMessage()));
            return;
        }
        Optional<Export> export = server.catalog().find(request.exportName());
        if (export.isEmpty()) {
            reply(ctx, OptionReplies.error(option, REP_ERR_UNKNOWN, "no export named '" + request.exportName() + "'"));
            return;
        }
        boolean baseAllocation;
        if (set) {
            // "base:" selects nothing in SET; unknown leaves and namespaces are ignored.
            baseAllocation = request.queries().contains(META_BASE_ALLOCATION);
        } else {
            // No query lists everything; "base:" is the wildcard of the base namespace.
            baseAllocation = request.queries().isEmpty()
                    || request.queries().stream().anyMatch(q -> q.equals("base:") || q.equals(META_BASE_ALLOCATION));
        }
        if (baseAllocation) {
            // LIST replies carry the reserved id 0; SET gives the id used in block-status chunks.
            ctx.write(OptionReplies.metaContext(option, set ? BASE_ALLOCATION_ID : 0, META_BASE_ALLOCATION));
            if (set) {
                metaContextExport = export.get();
            }
        }
        reply(ctx, OptionReplies.ack(option));
    }

    private Session session(Export export) {
        int flags = TransmissionFlags.of(export.volume().features(), structuredReplies);
        BlockSizes sizes = BlockSizes.of(export.volume().features(), server.maxPayload());
        int metaId = structuredReplies && metaContextExport == export ? BASE_ALLOCATION_ID : -1;
        return new Session(export, flags, sizes, structuredReplies, metaId);
    }

    /**
     * Swaps the handshake codec for the transmission codec. Order matters: the request decoder is
     * added behind the handshake decoder before that one is removed, so that bytes the client sent
     * right after its last option flow into the request decoder.
     */
    private void enterTransmission(ChannelHandlerContext ctx, Session session) {
        done = true;
        ctx.flush();
        LOG.debug("transmission remote={} export={} flags=0x{} structured={} blockStatus={}", ctx.channel().remoteAddress(),
                session.export().name(), Integer.toHexString(session.transmissionFlags()), session.structuredReplies(),
                session.metaContextId() >= 0);
        ChannelPipeline p = ctx.pipeline();
        p.addAfter(DECODER, REQUEST_DECODER, new RequestDecoder(session.sizes().maximumPayload()));
        p.replace(ENCODER, REPLY_ENCODER, new ReplyEncoder());
        p.replace(this, TRANSMISSION, new TransmissionHandler(server, session));
        p.remove(DECODER);
    }

    private void reply(ChannelHandlerContext ctx, HandshakeMessage.OptionReply reply) {
        ctx.writeAndFlush(reply);
    }

    private void hardDisconnect(ChannelHandlerContext ctx, String why) {
        LOG.info("closing handshake remote={} reason=\"{}\"", ctx.channel().remoteAddress(), why);
        done = true;
        ctx.flush();
        ctx.close();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent e) {
            if (e.isSuccess()) {
                LOG.debug("tls up remote={}", ctx.channel().remoteAddress());
            } else {
                hardDisconnect(ctx, "TLS handshake failed: " + e.cause().getMessage());
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (done && !ctx.channel().isActive()) {
            return;
        }
        hardDisconnect(ctx, Exceptions.describe(cause));
    }
}
