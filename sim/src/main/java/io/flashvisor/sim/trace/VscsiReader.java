package io.flashvisor.sim.trace;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * VMware vscsiStats binary traces, little-endian, no header (see {@code shared/traces/README.md}).
 *
 * <pre>
 *  v1, 32 bytes:  0 sn u32 | 4 len u32 | 8 nSG u32 | 12 cmd u16 | 14 ver u16 | 16 lbn u64 | 24 ts u64
 *  v2, 40 bytes:  0 cmd u16 | 2 ver u16 | 4 sn u32 | 8 len u32 | 12 nSG u32 | 16 lbn u64 | 24 ts u64 | 32 rt u64
 * </pre>
 *
 * {@code len} is in bytes, {@code lbn} in 512-byte sectors, {@code ts} in µs; {@code ver >> 8}
 * is the version. The version is taken from the first two records, v2 first. Opcodes other than
 * SCSI reads (0x08, 0x28, 0x88, 0xa8) and writes (0x0a, 0x2a, 0x8a, 0xaa) are skipped.
 */
final class VscsiReader implements TraceReader {

    @Override
    public void read(Path file, TraceBuilder out) throws IOException {
        int version = version(file);
        int recordSize = version == 2 ? 40 : 32;
        byte[] buf = new byte[recordSize * 4096];
        ByteBuffer bb = ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN);
        long record = 0;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
            while (!out.full()) {
                int n = in.readNBytes(buf, 0, buf.length);
                if (n % recordSize != 0 && n < buf.length) {
                    throw new MalformedTraceException(file + ": ends with a partial " + recordSize + "-byte record after record " + (record + n / recordSize));
                }
                for (int off = 0; off + recordSize <= n; off += recordSize, record++) {
                    int cmd = (bb.getShort(off + (version == 2 ? 0 : 12)) & 0xffff) & 0xff;
                    long len = Integer.toUnsignedLong(bb.getInt(off + (version == 2 ? 8 : 4)));
                    long lbn = bb.getLong(off + 16);
                    long ts = bb.getLong(off + 24);
                    Boolean write = direction(cmd);
                    if (write != null && lbn >= 0 && lbn < 1L << 54) {
                        out.request(0, lbn * 512, len, write, ts);
                    }
                }
                if (n < buf.length) {
                    return;
                }
            }
        }
    }

    /** Reads (0x08/0x28/0x88/0xa8) are false, writes (0x0a/0x2a/0x8a/0xaa) true, others null. */
    static Boolean direction(int cmd) {
        return switch (cmd) {
            case 0x08, 0x28, 0x88, 0xa8 -> Boolean.FALSE;
            case 0x0a, 0x2a, 0x8a, 0xaa -> Boolean.TRUE;
            default -> null;
        };
    }

    static int version(Path file) throws IOException {
        byte[] head = new byte[80];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        }
        ByteBuffer bb = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        if (n >= 80 && (bb.getShort(2) & 0xffff) >> 8 == 2 && (bb.getShort(42) & 0xffff) >> 8 == 2) {
            return 2;
        }
        if (n >= 64 && (bb.getShort(14) & 0xffff) >> 8 == 1 && (bb.getShort(46) & 0xffff) >> 8 == 1) {
            return 1;
        }
        if (n == 32 && (bb.getShort(14) & 0xffff) >> 8 == 1) {
            return 1;
        }
        if (n == 40 && (bb.getShort(2) & 0xffff) >> 8 == 2) {
            return 2;
        }
        throw new MalformedTraceException(file + ": not a vscsiStats trace (no version 1 or 2 in the first two records)");
    }
}
