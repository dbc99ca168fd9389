package io.flashvisor.sim.trace;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code blkparse}'s default text output:
 * {@code 8,0  3  1  0.000000000  4162  Q  WS 3417048 + 8 [kjournald]} — device, CPU, sequence,
 * time in seconds, pid, action, RWBS, start sector + sectors, process.
 *
 * <p>One request appears once per action it goes through (Q queued, G, I, D issued, C completed
 * …), so only one action is counted: Q if the trace has any, else D, else C (a trace filtered with
 * {@code blkparse -a}). RWBS without R or W (flushes, discards) and the summary lines are skipped.
 * Each device is a volume of its own.
 */
final class BlkparseReader implements TraceReader {
    private static final Pattern EVENT = Pattern.compile(
            "^(\\d+),(\\d+)\\s+\\d+\\s+\\d+\\s+(\\d+)\\.(\\d+)\\s+\\d+\\s+([A-Za-z]{1,2})\\s+([A-Z]+)\\s+(\\d+)\\s+\\+\\s+(\\d+).*");

    @Override
    public void read(Path file, TraceBuilder out) throws IOException {
        char action = chooseAction(file);
        Map<Long, Integer> devices = new HashMap<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
            String line;
            while ((line = r.readLine()) != null && !out.full()) {
                Matcher m = EVENT.matcher(line.strip());
                if (!m.matches() || m.group(5).length() != 1 || m.group(5).charAt(0) != action) {
                    continue;
                }
                String rwbs = m.group(6);
                boolean write = rwbs.indexOf('W') >= 0;
                if (!write && rwbs.indexOf('R') < 0) {
                    continue;
                }
                long device = Long.parseLong(m.group(1)) << 32 | Long.parseLong(m.group(2));
                Integer volume = devices.computeIfAbsent(device, d -> devices.size());
                long micros = Long.parseLong(m.group(3)) * 1_000_000 + fractionMicros(m.group(4));
                out.request(volume, Long.parseLong(m.group(7)) * 512, Long.parseLong(m.group(8)) * 512, write, micros);
            }
        }
        if (devices.isEmpty()) {
            throw new MalformedTraceException(file + ": no blkparse events with R or W found");
        }
    }

    private static long fractionMicros(String digits) {
        String six = (digits + "000000").substring(0, 6);
        return Long.parseLong(six);
    }

    private static char chooseAction(Path file) throws IOException {
        boolean d = false;
        boolean c = false;
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
            String line;
            while ((line = r.readLine()) != null) {
                Matcher m = EVENT.matcher(line.strip());
                if (m.matches() && m.group(5).length() == 1) {
                    switch (m.group(5).charAt(0)) {
                        case 'Q' -> {
                            return 'Q';
                        }
                        case 'D' -> d = true;
                        case 'C' -> c = true;
                        default -> { }
                    }
                }
            }
        }
        return d ? 'D' : c ? 'C' : 'Q';
    }
}
