package io.flashvisor.common;

import java.io.IOException;
import java.io.UncheckedIOException;

/** Closing several things: every one is closed; the first failure is thrown with the rest attached as suppressed. */
public final class Closeables {
    private Closeables() {
    }

    /**
     * Cleanup after a failed start: closes every resource and attaches any failure to
     * {@code primary} (the reason the start failed), which the caller then rethrows.
     */
    public static void closeAllAfter(Throwable primary, Iterable<? extends AutoCloseable> resources) {
        try {
            closeAll(resources);
        } catch (IOException | RuntimeException | Error suppressed) {
            primary.addSuppressed(suppressed);
        }
    }

    public static void closeAll(Iterable<? extends AutoCloseable> resources) throws IOException {
        Throwable first = null;
        for (AutoCloseable r : resources) {
            if (r == null) {
                continue;
            }
            try {
                r.close();
            } catch (Throwable t) {
                if (first == null) {
                    first = t;
                } else {
                    first.addSuppressed(t);
                }
            }
        }
        if (first instanceof IOException io) {
            throw io;
        }
        if (first instanceof RuntimeException re) {
            throw re;
        }
        if (first instanceof Error e) {
            throw e;
        }
        if (first != null) {
            throw new UncheckedIOException(new IOException(first));
        }
    }
}
