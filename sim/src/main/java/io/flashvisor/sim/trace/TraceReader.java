package io.flashvisor.sim.trace;

import java.io.IOException;
import java.nio.file.Path;

/** Reads one trace format into requests; one small class per format. */
interface TraceReader {
    void read(Path file, TraceBuilder out) throws IOException;
}
