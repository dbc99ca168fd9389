package io.flashvisor.sim.trace;

import java.io.IOException;

/** A trace file that does not follow its format; the message names the file, line (or record) and what is wrong. */
public final class MalformedTraceException extends IOException {
    public MalformedTraceException(String message) {
        super(message);
    }
}
