package io.flashvisor.sim.trace;

import java.util.HashMap;
import java.util.Map;

/**
 * fio's I/O log ({@code write_iolog}/{@code read_iolog}). Version 2 (first line
 * {@code fio version 2 iolog}): {@code filename action [offset length]}; version 3
 * ({@code fio version 3 iolog}): {@code timestamp filename action [offset length]}, the
 * timestamp in milliseconds. Only {@code read} and {@code write} move data; {@code add},
 * {@code open}, {@code close}, {@code sync}, {@code datasync}, {@code trim} and {@code wait} are
 * skipped. Each file name is a volume of its own. Version 2 logs carry no time.
 */
final class FioIologReader extends LineReader {
    private int version;
    private final Map<String, Integer> files = new HashMap<>();

    @Override
    void line(String line, long number, TraceBuilder out) {
        if (number == 1) {
            if (line.equals("fio version 2 iolog")) {
                version = 2;
            } else if (line.equals("fio version 3 iolog")) {
                version = 3;
            } else {
                throw new IllegalArgumentException("the first line is not 'fio version 2 iolog' or 'fio version 3 iolog'");
            }
            return;
        }
        String[] f = line.split("\\s+");
        int base = version == 3 ? 1 : 0;
        if (f.length < base + 2) {
            throw new IllegalArgumentException("too few fields");
        }
        String action = f[base + 1];
        boolean write = action.equals("write");
        if (!write && !action.equals("read")) {
            return;
        }
        if (f.length < base + 4) {
            throw new IllegalArgumentException(action + " needs an offset and a length");
        }
        int volume = files.computeIfAbsent(f[base], k -> files.size());
        long time = version == 3 ? Long.parseLong(f[0]) * 1000 : -1;
        out.request(volume, Long.parseLong(f[base + 2]), Long.parseLong(f[base + 3]), write, time);
    }
}
