package io.flashvisor.backing.nbd;

import static io.flashvisor.nbd.wire.NbdConstants.FLAG_C_FIXED_NEWSTYLE;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_C_NO_ZEROES;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_FIXED_NEWSTYLE;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_HAS_FLAGS;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_NO_ZEROES;
import static io.flashvisor.nbd.wire.NbdConstants.IHAVEOPT;
import static io.flashvisor.nbd.wire.NbdConstants.INFO_BLOCK_SIZE;
import static io.flashvisor.nbd.wire.NbdConstants.INFO_EXPORT;
import static io.flashvisor.nbd.wire.NbdConstants.META_BASE_ALLOCATION;
import static io.flashvisor.nbd.wire.NbdConstants.NBDMAGIC;
import static io.flashvisor.nbd.wire.NbdConstants.OLDSTYLE_MAGIC;
import static io.flashvisor.nbd.wire.NbdConstants.OPTION_REPLY_MAGIC;
import static io.flashvisor.nbd.wire.NbdConstants.OPT_ABORT;
import static io.flashvisor.nbd.wire.NbdConstants.OPT_EXPORT_NAME;
import static io.flashvisor.nbd.wire.NbdConstants.OPT_GO;
import static io.flashvisor.nbd.wire.NbdConstants.OPT_SET_META_CONTEXT;
import static io.flashvisor.nbd.wire.NbdConstants.OPT_STRUCTURED_REPLY;
import static io.flashvisor.nbd.wire.NbdConstants.REP_ACK;
import static io.flashvisor.nbd.wire.NbdConstants.REP_ERR_UNSUP;
import static io.flashvisor.nbd.wire.NbdConstants.REP_INFO;
import static io.flashvisor.nbd.wire.NbdConstants.REP_META_CONTEXT;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.charset.StandardCharsets;

/**
 * The client side of the fixed-newstyle handshake: structured replies, the {@code base:allocation}
 * meta context, then {@code NBD_OPT_GO} with an {@code NBD_INFO_BLOCK_SIZE} request, falling back
 * to {@code NBD_OPT_EXPORT_NAME} for servers that do not know GO. Runs once, on the connecting
 * thread, before any request is sent.
 *
 * <pre>
 * greeting      | "NBDMAGIC" (8) | "IHAVEOPT" (8) | handshake flags (2) |
 * client flags  | flags (4) |
 * option        | "IHAVEOPT" (8) | option (4) | length (4) | data (length) |
 * option reply  | 0x3e889045565a9 (8) | option (4) | reply type (4) | length (4) | data (length) |
 * REP_INFO data | info type (2) | EXPORT: size (8) flags (2) | BLOCK_SIZE: min (4) preferred (4) max (4) |
 * </pre>
 */
final class Handshake {
    /** Every option reply we ask for is small; a larger one means a confused or hostile server. */
    private static final int MAX_OPTION_REPLY = 64 * 1024;
    private static final int MAX_PAYLOAD_CAP = 32 << 20;
    private static final long UNSIGNED_INT = 0xffffffffL;

    /** The handshake's outcome; {@code metaContextId} is the id of {@code base:allocation}, or -1. */
    record Result(NbdExport export, int metaContextId) {
    }

    private final ByteChannel ch;
    private final GatheringByteChannel out;
    private final String exportName;
    private final byte[] nameBytes;
    private final String where;

    private <C extends ByteChannel & GatheringByteChannel> Handshake(C ch, String exportName, String where) {
        this.ch = ch;
        this.out = ch;
        this.exportName = exportName;
        this.nameBytes = exportName.getBytes(StandardCharsets.UTF_8);
        this.where = where;
    }

    static <C extends ByteChannel & GatheringByteChannel> Result run(C ch, String exportName, String where) throws IOException {
        return new Handshake(ch, exportName, where).run();
    }

    private Result run() throws IOException {
        ByteBuffer greeting = read(18);
        if (greeting.getLong(0) != NBDMAGIC) {
            throw protocol("it is not an NBD server (no NBDMAGIC greeting)");
        }
        long second = greeting.getLong(8);
        if (second == OLDSTYLE_MAGIC) {
            throw protocol("the server speaks oldstyle negotiation, which is not supported");
        }
        if (second != IHAVEOPT) {
            throw protocol("unknown negotiation magic 0x" + Long.toHexString(second));
        }
        int handshakeFlags = greeting.getShort(16) & 0xffff;
        boolean fixed = (handshakeFlags & FLAG_FIXED_NEWSTYLE) != 0;
        boolean noZeroes = (handshakeFlags & FLAG_NO_ZEROES) != 0;
        int clientFlags = (fixed ? FLAG_C_FIXED_NEWSTYLE : 0) | (noZeroes ? FLAG_C_NO_ZEROES : 0);
        Wire.writeFully(out, ByteBuffer.allocate(4).putInt(0, clientFlags));
        if (!fixed) {
            return new Result(exportName(noZeroes, false, false), -1);
        }
        boolean structured = simpleOption(OPT_STRUCTURED_REPLY);
        int metaContextId = structured ? setMetaContext() : -1;
        Result go = go(structured, metaContextId);
        return go != null ? go : new Result(exportName(noZeroes, structured, metaContextId >= 0), metaContextId);
    }

    /** Sends an option without data; true on ACK, false on any error reply. */
    private boolean simpleOption(int option) throws IOException {
        sendOption(option, ByteBuffer.allocate(0));
        Reply r = readReply(option);
        return r.type == REP_ACK;
    }

    private int setMetaContext() throws IOException {
        byte[] query = META_BASE_ALLOCATION.getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.allocate(4 + nameBytes.length + 4 + 4 + query.length)
                .putInt(nameBytes.length).put(nameBytes).putInt(1).putInt(query.length).put(query).flip();
        sendOption(OPT_SET_META_CONTEXT, data);
        int id = -1;
        while (true) {
            Reply r = readReply(OPT_SET_META_CONTEXT);
            if (r.type == REP_META_CONTEXT) {
                if (r.data.remaining() < 4) {
                    throw protocol("META_CONTEXT reply of " + r.data.remaining() + " bytes is too short");
                }
                int contextId = r.data.getInt();
                String name = StandardCharsets.UTF_8.decode(r.data).toString();
                if (name.equals(META_BASE_ALLOCATION)) {
                    id = contextId;
                }
            } else if (r.type == REP_ACK) {
                return id;
            } else if (r.isError()) {
                return -1; // no block status; extents are reported as allocated data
            } else {
                throw protocol("unexpected reply " + r.type + " to SET_META_CONTEXT");
            }
        }
    }

    /** Returns null if the server does not know GO, so the caller falls back to EXPORT_NAME. */
    private Result go(boolean structured, int metaContextId) throws IOException {
        ByteBuffer data = ByteBuffer.allocate(4 + nameBytes.length + 2 + 2)
                .putInt(nameBytes.length).put(nameBytes).putShort((short) 1).putShort((short) INFO_BLOCK_SIZE).flip();
        sendOption(OPT_GO, data);
        long size = -1;
        int flags = 0;
        long min = 1;
        long preferred = 4096;
        long max = MAX_PAYLOAD_CAP;
        while (true) {
            Reply r = readReply(OPT_GO);
            if (r.type == REP_INFO) {
                if (r.data.remaining() < 2) {
                    throw protocol("INFO reply of " + r.data.remaining() + " bytes is too short");
                }
                int info = r.data.getShort() & 0xffff;
                if (info == INFO_EXPORT) {
                    expectLength(r, 10, "INFO_EXPORT");
                    size = r.data.getLong();
                    flags = r.data.getShort() & 0xffff;
                } else if (info == INFO_BLOCK_SIZE) {
                    expectLength(r, 12, "INFO_BLOCK_SIZE");
                    min = r.data.getInt() & UNSIGNED_INT;
                    preferred = r.data.getInt() & UNSIGNED_INT;
                    max = r.data.getInt() & UNSIGNED_INT;
                }
            } else if (r.type == REP_ACK) {
                if (size == -1) {
                    throw protocol("the server accepted GO without sending INFO_EXPORT");
                }
                return new Result(export(size, flags, min, preferred, max, structured, metaContextId >= 0), metaContextId);
            } else if (r.type == REP_ERR_UNSUP) {
                return null;
            } else if (r.isError()) {
                abortQuietly();
                throw new VolumeException(BlockError.IO, where + " refused export '" + exportName + "': "
                        + NbdErrors.replyName(r.type) + r.message());
            } else {
                throw protocol("unexpected reply " + r.type + " to GO");
            }
        }
    }

    /** Meta contexts set before EXPORT_NAME for the same name stay valid (spec: "Metadata querying"). */
    private NbdExport exportName(boolean noZeroes, boolean structured, boolean blockStatus) throws IOException {
        sendOption(OPT_EXPORT_NAME, ByteBuffer.wrap(nameBytes));
        ByteBuffer b;
        try {
            b = read(noZeroes ? 10 : 10 + 124);
        } catch (EOFException e) {
            throw new VolumeException(BlockError.IO, where + " closed the connection after EXPORT_NAME '" + exportName
                    + "': the export probably does not exist", e);
        }
        return export(b.getLong(0), b.getShort(8) & 0xffff, 1, 4096, MAX_PAYLOAD_CAP, structured, blockStatus);
    }

    private NbdExport export(long size, int flags, long min, long preferred, long max, boolean structured, boolean blockStatus)
            throws IOException {
        if (size < 0) {
            throw protocol("export size " + Long.toUnsignedString(size) + " is too large");
        }
        if (Long.bitCount(min) != 1 || min > 65536 || Long.bitCount(preferred) != 1 || preferred < min || max < min) {
            throw protocol("invalid block size constraints: minimum " + min + ", preferred " + preferred + ", maximum " + max);
        }
        int maxPayload = (int) (Math.min(max, MAX_PAYLOAD_CAP) & -min);
        if ((flags & FLAG_HAS_FLAGS) == 0) {
            flags = 0;
        }
        return new NbdExport(exportName, size, flags, (int) min, (int) preferred, maxPayload, structured, blockStatus);
    }

    private void expectLength(Reply r, int length, String what) throws IOException {
        if (r.data.remaining() != length) {
            throw protocol(what + " has " + (r.data.remaining() + 2) + " bytes instead of " + (length + 2));
        }
    }

    private void sendOption(int option, ByteBuffer data) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(16).putLong(IHAVEOPT).putInt(option).putInt(data.remaining()).flip();
        Wire.writeFully(out, header, data);
    }

    private void abortQuietly() {
        try {
            sendOption(OPT_ABORT, ByteBuffer.allocate(0));
        } catch (IOException ignored) {
            // the connection is being dropped anyway
        }
    }

    private record Reply(int type, ByteBuffer data) {
        boolean isError() {
            return type < 0; // bit 31 set
        }

        String message() {
            String text = StandardCharsets.UTF_8.decode(data.duplicate()).toString();
            return text.isEmpty() ? "" : ": " + text;
        }
    }

    private Reply readReply(int option) throws IOException {
        ByteBuffer h = read(20);
        if (h.getLong(0) != OPTION_REPLY_MAGIC) {
            throw protocol("bad option reply magic 0x" + Long.toHexString(h.getLong(0)));
        }
        if (h.getInt(8) != option) {
            throw protocol("reply to option " + h.getInt(8) + " while waiting for option " + option);
        }
        long length = h.getInt(16) & UNSIGNED_INT;
        if (length > MAX_OPTION_REPLY) {
            throw protocol("option reply of " + length + " bytes is too long");
        }
        return new Reply(h.getInt(12), read((int) length));
    }

    private ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        Wire.readFully(ch, b);
        return b.flip();
    }

    private VolumeException protocol(String why) {
        return new VolumeException(BlockError.IO, "handshake with " + where + " failed: " + why);
    }
}
