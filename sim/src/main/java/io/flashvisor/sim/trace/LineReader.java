package io.flashvisor.sim.trace;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The shared loop of the text formats: each non-blank line, numbered, with errors that name file and line. */
abstract class LineReader implements TraceReader {

    @Override
    public final void read(Path file, TraceBuilder out) throws IOException {
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
            String line;
            long number = 0;
            while ((line = r.readLine()) != null && !out.full()) {
                number++;
                String s = line.strip();
                if (s.isEmpty()) {
                    continue;
                }
                try {
                    line(s, number, out);
                } catch (RuntimeException e) {
                    throw new MalformedTraceException(file + ":" + number + ": " + e.getMessage() + " in '" + abbreviate(s) + "'");
                }
            }
        }
    }

    /** Parses one stripped, non-empty line; throws IllegalArgumentException (or NumberFormatException) if it is bad. */
    abstract void line(String line, long number, TraceBuilder out);

    private static String abbreviate(String s) {
        return s.length() > 100 ? s.substring(0, 100) + "…" : s;
    }
}
