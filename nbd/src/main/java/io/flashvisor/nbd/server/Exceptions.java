package io.flashvisor.nbd.server;

import io.netty.handler.codec.DecoderException;

/** Short, operator-readable descriptions of failures on a connection. */
final class Exceptions {
    private Exceptions() {
    }

    static String describe(Throwable t) {
        Throwable c = t;
        while (c instanceof DecoderException && c.getCause() != null) {
            c = c.getCause();
        }
        String m = c.getMessage();
        return m == null ? c.getClass().getSimpleName() : m;
    }
}
