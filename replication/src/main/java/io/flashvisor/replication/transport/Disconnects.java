package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.ErrorCode;
import io.flashvisor.replication.protocol.ErrorMessage;
import io.flashvisor.replication.protocol.ProtocolException;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import javax.net.ssl.SSLException;
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
        SSLException tls = tlsCause(cause);
        if (pe == null && tls != null) {
            // No ERROR frame: there is no TLS session to send it in (or the peer does not speak TLS).
            log.warn("replication connection closed {} remote={} error=TLS reason=\"{}\"", who, ctx.channel().remoteAddress(),
                    tlsFailure("TLS failed", tls));
            ctx.close();
        } else if (pe != null) {
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

    static boolean isTls(Throwable t) {
        return tlsCause(t) != null;
    }

    static SSLException tlsCause(Throwable t) {
        for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) {
            if (t instanceof SSLException e) {
                return e;
            }
        }
        return null;
    }

    /** {@code what}, the TLS error, and what an operator can check. */
    static String tlsFailure(String what, Throwable cause) {
        SSLException tls = tlsCause(cause);
        Throwable t = tls != null ? tls : cause;
        String reason = t == null ? "unknown error" : t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
        String hint;
        if (t instanceof NotSslRecordException) {
            hint = "the peer does not speak TLS: configure cluster.peer-tls on every host or on none";
            reason = "not a TLS record";
        } else if (t instanceof SslHandshakeTimeoutException) {
            hint = "the peer did not complete the TLS handshake in time (does it use TLS?)";
        } else {
            hint = "every host needs cluster.peer-tls with a certificate signed by the cluster's CA";
        }
        return what + ": " + reason + " (" + hint + ")";
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
