package io.flashvisor.sim;

import io.flashvisor.sim.trace.BlockTrace;
import io.flashvisor.sim.trace.TraceFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The sample vscsi trace (test resource, see NOTICE next to it), read once per test JVM. */
final class SampleTrace {
    private static BlockTrace trace;

    private SampleTrace() {
    }

    static Path path() {
        try {
            return Path.of(SampleTrace.class.getResource("/cloudPhysicsIO.vscsi").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static synchronized BlockTrace get() {
        if (trace == null) {
            try {
                trace = TraceFormat.VSCSI.read(path(), Integer.MAX_VALUE);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return trace;
    }
}
