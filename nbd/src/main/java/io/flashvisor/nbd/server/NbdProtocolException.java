package io.flashvisor.nbd.server;

import io.netty.handler.codec.CorruptedFrameException;

/**
 * The peer broke the framing of the protocol (bad magic, a length no sane client sends): there is
 * no way to find the next frame, so the only answer is a hard disconnect.
 */
final class NbdProtocolException extends CorruptedFrameException {
    private static final long serialVersionUID = 1L;

    NbdProtocolException(String message) {
        super(message);
    }
}
