package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.ErrorCode;
import io.flashvisor.replication.protocol.ErrorMessage;
import io.flashvisor.replication.protocol.ProtocolException;
import io.netty.channel.ChannelHandlerContext;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import org.slf4j.Logger;

/**
 * Ending a connection because of what came over it: one log line an operator can act on, an
 * ERROR frame telling the peer why (best effort: it is flushed, and the connection closed right
 * after, whether or not a peer that stopped reading ever gets it), and a close.
 */
final class Disconnects {
    private Disconnects() {
    }

    static void closeWithError(ChannelHandlerContext ctx, ErrorCode code, String message) {
        if (ctx.channel().isActive()) {
            ctx.writeAndFlush(new OutboundFrame(0, new ErrorMessage(code, message)), ctx.voidPromise());
        }
        ctx.close();
    }

    /**
     * Handles an exception that reached the end of a pipeline.
     *
     * @param who "server" or "client", and whom we talk to, for the log line
     */
    static void onException(ChannelHandlerContext ctx, Logger log, String who, Throwable cause) {
        if (cause instanceof ClosedChannelException || !ctx.channel().isOpen()) {
            return;
        }
        ProtocolException pe = protocolCause(cause);
        if (pe != null) {
            log.warn("replication connection closed {} remote={} error={} reason=\"{}\"", who, ctx.channel().remoteAddress(),
                    pe.code(), pe.getMessage());
            // An authentication failure tells the peer no more than that.
            closeWithError(ctx, pe.code(), pe.code() == ErrorCode.AUTHENTICATION ? "authentication failed" : pe.getMessage());
        } else if (cause instanceof IOException) {
            log.debug("replication connection error {} remote={} reason=\"{}\"", who, ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        } else {
            log.warn("replication connection closed {} remote={} after an unexpected error", who, ctx.channel().remoteAddress(), cause);
            closeWithError(ctx, ErrorCode.PROTOCOL, "internal error");
        }
    }

    static ProtocolException protocolCause(Throwable t) {
        for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) {
            if (t instanceof ProtocolException pe) {
                return pe;
            }
        }
        return null;
    }
}
