package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Builds client-side frames for tests. */
final class Frames {
    private Frames() {
    }

    static byte[] clientFlags(int flags) {
        return ByteBuffer.allocate(4).putInt(flags).array();
    }

    static byte[] option(int option, byte[] data) {
        return ByteBuffer.allocate(16 + data.length).putLong(IHAVEOPT).putInt(option).putInt(data.length).put(data).array();
    }

    static byte[] option(int option) {
        return option(option, new byte[0]);
    }

    static byte[] exportQuery(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length);
        b.putInt(n.length).put(n).putShort((short) infos.length);
        for (int i : infos) {
            b.putShort((short) i);
        }
        return b.array();
    }

    static byte[] metaQuery(String name, String... queries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        out.writeBytes(ByteBuffer.allocate(4).putInt(n.length).array());
        out.writeBytes(n);
        out.writeBytes(ByteBuffer.allocate(4).putInt(queries.length).array());
        for (String q : queries) {
            byte[] qb = q.getBytes(StandardCharsets.UTF_8);
            out.writeBytes(ByteBuffer.allocate(4).putInt(qb.length).array());
            out.writeBytes(qb);
        }
        return out.toByteArray();
    }

    static byte[] request(int flags, int type, long cookie, long offset, long length) {
        return ByteBuffer.allocate(28).putInt(REQUEST_MAGIC).putShort((short) flags).putShort((short) type)
                .putLong(cookie).putLong(offset).putInt((int) length).array();
    }

    static byte[] write(int flags, long cookie, long offset, byte[] data) {
        return ByteBuffer.allocate(28 + data.length).put(request(flags, CMD_WRITE, cookie, offset, data.length)).put(data).array();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed + i * 31);
        }
        return b;
    }
}
