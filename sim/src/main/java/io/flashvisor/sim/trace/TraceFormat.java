package io.flashvisor.sim.trace;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Supplier;

/** The trace formats {@code flashvisor sim} reads, by their {@code --format} name, and the guess from a file's first bytes. */
public enum TraceFormat {
    /** VMware vscsiStats binary, version 1 or 2. */
    VSCSI(VscsiReader::new),
    /** The vscsi trace as text ({@code version,time,op,size,lbn}). */
    CSV(VscsiCsvReader::new),
    /** SNIA / MSR Cambridge CSV. */
    MSR(MsrCsvReader::new),
    /** blkparse text output. */
    BLKPARSE(BlkparseReader::new),
    /** fio iolog, version 2 or 3. */
    FIO(FioIologReader::new);

    private final Supplier<TraceReader> reader;

    TraceFormat(Supplier<TraceReader> reader) {
        this.reader = reader;
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static TraceFormat parse(String name) {
        for (TraceFormat f : values()) {
            if (f.cliName().equalsIgnoreCase(name.strip()) || (f == MSR && name.strip().equalsIgnoreCase("snia"))) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown trace format '" + name + "'; use vscsi, csv, msr, blkparse or fio");
    }

    /** Reads the whole file (or its first {@code limit} block accesses). */
    public BlockTrace read(Path file, int limit) throws IOException {
        TraceBuilder b = new TraceBuilder(file.getFileName().toString(), limit);
        reader.get().read(file, b);
        return b.build();
    }

    /** Reads the whole file in the format {@link #detect} guesses. */
    public static BlockTrace read(Path file) throws IOException {
        return detect(file).read(file, Integer.MAX_VALUE - 16);
    }

    /** Guesses the format from the first 4 KiB: text formats by their shape, anything binary as vscsi. */
    public static TraceFormat detect(Path file) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(4096);
        }
        for (byte b : head) {
            if (b == 0 || (b < 0x20 && b != '\n' && b != '\r' && b != '\t')) {
                return VSCSI;
            }
        }
        String text = new String(head, StandardCharsets.ISO_8859_1);
        String first = text.lines().map(String::strip).filter(s -> !s.isEmpty()).findFirst().orElse("");
        if (first.startsWith("fio version")) {
            return FIO;
        }
        if (first.startsWith("version,time")) {
            return CSV;
        }
        if (first.matches("^\\d+,\\d+\\s+\\d+\\s+\\d+\\s+\\d+\\.\\d+.*")) {
            return BLKPARSE;
        }
        if (first.split(",").length >= 6) {
            return MSR;
        }
        throw new MalformedTraceException(file + ": cannot tell its trace format from its first line '" + first
                + "'; give --format vscsi, csv, msr, blkparse or fio");
    }
}
