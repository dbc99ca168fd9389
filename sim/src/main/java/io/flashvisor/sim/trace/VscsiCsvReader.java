package io.flashvisor.sim.trace;

/**
 * The vscsi trace as text (libCacheSim's {@code cloudPhysicsIO.csv}): header
 * {@code version,time,op,size,lbn}, then {@code time} in whole seconds, {@code op} the SCSI
 * opcode in hex without 0x, {@code size} in bytes and {@code lbn} in 512-byte sectors.
 */
final class VscsiCsvReader extends LineReader {

    @Override
    void line(String line, long number, TraceBuilder out) {
        if (line.startsWith("version") || line.startsWith("#")) {
            return;
        }
        String[] f = line.split(",", -1);
        if (f.length < 5) {
            throw new IllegalArgumentException("expected 5 fields version,time,op,size,lbn");
        }
        Boolean write = VscsiReader.direction(Integer.parseInt(f[2].strip(), 16));
        if (write == null) {
            return;
        }
        long seconds = Long.parseLong(f[1].strip());
        out.request(0, Long.parseLong(f[4].strip()) * 512, Long.parseLong(f[3].strip()), write, seconds * 1_000_000);
    }
}
