package io.flashvisor.nbd.server;

import io.flashvisor.nbd.wire.NbdConstants;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses the data of {@code NBD_OPT_INFO}/{@code NBD_OPT_GO} and of the meta-context options.
 * Every length field is checked against the bytes actually present before anything is read or
 * allocated, so a lying length yields {@link Malformed}, never an exception or a big allocation.
 *
 * <pre>
 * INFO / GO:                      LIST_META_CONTEXT / SET_META_CONTEXT:
 * +--------------+                +--------------+
 * | name len u32 |                | name len u32 |
 * | name         |                | name         |
 * | count u16    |                | count u32    |
 * | info u16 ... |                | (len u32, query) ...
 * +--------------+                +--------------+
 * </pre>
 */
final class OptionParser {
    private OptionParser() {
    }

    /** The option data does not follow its documented layout; answered with {@code NBD_REP_ERR_INVALID}. */
    static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    /** {@code infoMask} has bit {@code i} set if information type {@code i} (0..15) was requested. */
    record ExportRequest(String name, int infoMask) {
        boolean wants(int infoType) {
            return infoType < 16 && (infoMask & (1 << infoType)) != 0;
        }
    }

    record MetaRequest(String exportName, List<String> queries) {
    }

    static ExportRequest exportRequest(byte[] data) throws Malformed {
        ByteBuffer b = ByteBuffer.wrap(data);
        if (b.remaining() < 6) {
            throw new Malformed("option data of " + data.length + " bytes is shorter than the minimum of 6");
        }
        String name = string(b, "export name", 2);
        int count = Short.toUnsignedInt(b.getShort());
        if (b.remaining() != 2L * count) {
            throw new Malformed("the option announces " + count + " information requests but carries "
                    + b.remaining() + " bytes for them");
        }
        int mask = 0;
        for (int i = 0; i < count; i++) {
            int type = Short.toUnsignedInt(b.getShort());
            if (type < 16) {
                mask |= 1 << type;
            }
        }
        return new ExportRequest(name, mask);
    }

    static MetaRequest metaRequest(byte[] data) throws Malformed {
        ByteBuffer b = ByteBuffer.wrap(data);
        if (b.remaining() < 8) {
            throw new Malformed("option data of " + data.length + " bytes is shorter than the minimum of 8");
        }
        String exportName = string(b, "export name", 4);
        long count = Integer.toUnsignedLong(b.getInt());
        // Each query takes at least 4 bytes: a count that cannot fit is a lie, refuse it before looping.
        if (count > b.remaining() / 4) {
            throw new Malformed("the option announces " + count + " queries but carries only " + b.remaining() + " bytes");
        }
        List<String> queries = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) {
            if (b.remaining() < 4) {
                throw new Malformed("query " + i + " is truncated");
            }
            queries.add(string(b, "query", 0));
        }
        if (b.hasRemaining()) {
            throw new Malformed(b.remaining() + " bytes follow the last query");
        }
        return new MetaRequest(exportName, List.copyOf(queries));
    }

    /** Reads a u32 length and that many bytes of UTF-8, leaving at least {@code after} bytes. */
    private static String string(ByteBuffer b, String what, int after) throws Malformed {
        long length = Integer.toUnsignedLong(b.getInt());
        if (length > b.remaining() - after) {
            throw new Malformed(what + " length " + length + " runs past the end of the option data");
        }
        if (length > NbdConstants.MAX_STRING) {
            throw new Malformed(what + " is " + length + " bytes long; the limit is " + NbdConstants.MAX_STRING);
        }
        ByteBuffer slice = b.slice(b.position(), (int) length);
        b.position(b.position() + (int) length);
        return Strings.decodeUtf8(slice).orElseThrow(() -> new Malformed(what + " is not valid UTF-8"));
    }
}
