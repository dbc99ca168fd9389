package io.flashvisor.sim.trace;

/**
 * SNIA IOTTA / MSR Cambridge block traces:
 * {@code Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime}, no header; the timestamp
 * is a Windows filetime (100 ns ticks), {@code Type} is {@code Read} or {@code Write}, offset and
 * size are bytes. Each disk number is a volume of its own (block keys do not collide).
 */
final class MsrCsvReader extends LineReader {

    @Override
    void line(String line, long number, TraceBuilder out) {
        String[] f = line.split(",", -1);
        if (f.length < 6) {
            throw new IllegalArgumentException("expected 7 fields Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime");
        }
        if (number == 1 && f[0].strip().equalsIgnoreCase("timestamp")) {
            return; // a header some copies carry
        }
        String type = f[3].strip();
        boolean write;
        if (type.equalsIgnoreCase("write")) {
            write = true;
        } else if (type.equalsIgnoreCase("read")) {
            write = false;
        } else {
            throw new IllegalArgumentException("type '" + type + "' is neither Read nor Write");
        }
        long ticks = Long.parseLong(f[0].strip());
        out.request(Integer.parseInt(f[2].strip()), Long.parseLong(f[4].strip()), Long.parseLong(f[5].strip()), write, ticks / 10);
    }
}
