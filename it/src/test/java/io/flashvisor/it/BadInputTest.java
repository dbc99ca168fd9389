package io.flashvisor.it;

import static io.flashvisor.nbd.wire.NbdConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Invariant I6, bad input never hurts others: while a well-behaved client keeps doing verified
 * I/O, another client sends garbage, unknown options and commands, out-of-range and oversized
 * requests, bad magic, and hangs up mid-request. Each misbehaviour gets the error the spec asks
 * for (or a clean disconnect where the spec allows nothing better); the good client sees no error
 * and the node keeps serving.
 */
@Timeout(240)
class BadInputTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final int MiB = 1 << 20;
    private static final long SIZE = 128L * MiB;
    /** The good client works in [0, 32 MiB); the bad one only touches [64 MiB, 128 MiB). */
    private static final long GOOD_REGION = 32L * MiB;
    private static final long BAD_BASE = 64L * MiB;
    private static final Duration CLOSE_WITHIN = Duration.ofSeconds(10);

    /** A client that writes random blocks and reads each back, until told to stop. */
    static final class GoodClient implements Runnable {
        final Path socket;
        final String export;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong ops = new AtomicLong();
        final List<String> errors = new CopyOnWriteArrayList<>();
        final Thread thread;

        GoodClient(Path socket, String export) {
            this.socket = socket;
            this.export = export;
            this.thread = new Thread(this, "good-client");
            thread.setDaemon(true);
        }

        @Override
        public void run() {
            SplittableRandom rnd = new SplittableRandom(1);
            try (RawNbdClient c = RawNbdClient.unix(socket)) {
                RawNbdClient.ExportInfo info = c.handshake(export);
                if (info.size() != SIZE) {
                    errors.add("size " + info.size());
                }
                while (!stop.get()) {
                    int len = 4096 * rnd.nextInt(1, 33);
                    long off = 4096L * rnd.nextLong(0, (GOOD_REGION - len) / 4096);
                    byte[] data = new byte[len];
                    for (int i = 0; i < len; i += 512) {
                        data[i] = (byte) rnd.nextInt();
                        data[i + 511] = (byte) (ops.get() & 0xff);
                    }
                    int flags = rnd.nextInt(32) == 0 ? CMD_FLAG_FUA : 0;
                    RawNbdClient.SimpleReply w = c.write(flags, off, data);
                    if (w.error() != 0) {
                        errors.add("write at " + off + " failed with error " + w.error());
                        continue;
                    }
                    RawNbdClient.SimpleReply r = c.read(off, len);
                    if (r.error() != 0) {
                        errors.add("read at " + off + " failed with error " + r.error());
                    } else if (!Arrays.equals(r.data(), data)) {
                        errors.add("read at " + off + " length " + len + " returned other data than written");
                    }
                    if (ops.incrementAndGet() % 64 == 0 && c.flush().error() != 0) {
                        errors.add("flush failed");
                    }
                }
                c.disconnect();
            } catch (Throwable e) {
                errors.add("good client: " + e);
            }
        }
    }

    final List<String> problems = new ArrayList<>();

    interface Case {
        void run() throws Exception;
    }

    /** Runs one misbehaviour; a failed expectation is recorded, and the next case still runs. */
    private void check(String name, Case c) {
        try {
            c.run();
            System.out.println("bad input: ok: " + name);
        } catch (Throwable e) {
            problems.add(name + ": " + e);
            System.out.println("bad input: FAILED: " + name + ": " + e);
        }
    }

    private static void expect(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    private static String hex(int v) {
        return "0x" + Integer.toHexString(v);
    }

    @Test
    void misbehavingClientDoesNotHurtOthers() throws Exception {
        Path img = kit.file("vol.img");
        Tools.sparseFile(img, SIZE);
        Path sock = kit.file("node.sock");
        FlashvisorProcess node = kit.node("""
                listeners:
                  - unix: %s
                    mode: "0600"
                volumes:
                  - name: vol
                    backing: %s
                    policy: pass-through
                    description: "bad input target"
                """.formatted(sock, img), 1);

        GoodClient good = new GoodClient(sock, "vol");
        good.thread.start();
        long before;
        long during;
        try {
            // The good client is under way before the bad one starts, and keeps going after it is done.
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> good.ops.get() >= 20 || !good.errors.isEmpty());
            before = good.ops.get();
            runBadCases(sock);
            during = good.ops.get() - before;
            long after = good.ops.get();
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> good.ops.get() >= after + 20 || !good.errors.isEmpty());
        } finally {
            good.stop.set(true);
            good.thread.join(30_000);
        }
        assertThat(good.thread.isAlive()).as("good client finished").isFalse();
        assertThat(good.errors).as("errors seen by the well-behaved client").isEmpty();
        assertThat(during).as("verified writes by the well-behaved client while the other one misbehaved").isPositive();
        System.out.println("bad input: the well-behaved client did " + good.ops.get() + " verified writes without an error, "
                + during + " of them while the other client misbehaved");
        assertThat(problems).as("misbehaviours not handled as the spec asks").isEmpty();

        assertThat(node.isAlive()).isTrue();
        assertThat(NbdInfoTest.single(Tools.nbdinfoJson(FlashvisorProcess.withExport(node.uri(), "vol"))).path("export-size").asLong())
                .isEqualTo(SIZE);
        assertThat(node.stop(Duration.ofSeconds(40))).as("exit code after SIGTERM").isZero();
    }

    private RawNbdClient connect(Path sock) throws IOException {
        return RawNbdClient.unix(sock).timeout(Duration.ofSeconds(15));
    }

    void runBadCases(Path sock) {
        SplittableRandom rnd = new SplittableRandom(99);

        check("garbage instead of client flags and options -> disconnect", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.readGreeting();
                byte[] junk = new byte[256];
                for (int i = 0; i < junk.length; i++) {
                    junk[i] = (byte) rnd.nextInt();
                }
                junk[0] = (byte) 0xff; // unknown client flags, whatever else follows
                try {
                    c.send(junk);
                } catch (IOException closedEarly) {
                    return;
                }
                expect(c.closedByPeer(CLOSE_WITHIN, null), "connection still open " + CLOSE_WITHIN + " after garbage");
            }
        });

        check("HTTP request instead of NBD -> disconnect", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                expect(c.closedByPeer(CLOSE_WITHIN, new ByteArrayOutputStream()), "connection still open after an HTTP request");
            }
        });

        check("bad option magic -> disconnect", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.startHandshake();
                c.send(ByteBuffer.allocate(16).putLong(0x1122334455667788L).putInt(OPT_GO).putInt(0).flip());
                expect(c.closedByPeer(CLOSE_WITHIN, new ByteArrayOutputStream()), "connection still open after a bad option magic");
            }
        });

        check("unknown option -> NBD_REP_ERR_UNSUP, then GO still works", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.startHandshake();
                c.sendOption(0x7ffe, "whatever".getBytes(StandardCharsets.US_ASCII));
                RawNbdClient.OptionReply r = c.readOptionReply();
                expect(r.option() == 0x7ffe, "reply names option " + r.option());
                expect(r.type() == REP_ERR_UNSUP, "reply type " + hex(r.type()) + ", expected NBD_REP_ERR_UNSUP");
                RawNbdClient.ExportInfo info = c.go("vol");
                expect(info.size() == SIZE, "size " + info.size());
                expect(c.read(BAD_BASE, 4096).error() == 0, "read after GO");
            }
        });

        check("GO for an unknown export -> NBD_REP_ERR_UNKNOWN, then GO to the right one works", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.startHandshake();
                try {
                    c.go("no-such-volume");
                    throw new AssertionError("GO to an unknown export succeeded");
                } catch (RawNbdClient.OptionError e) {
                    expect(e.type == REP_ERR_UNKNOWN, "reply type " + hex(e.type) + ", expected NBD_REP_ERR_UNKNOWN");
                }
                expect(c.go("vol").size() == SIZE, "size");
            }
        });

        check("NBD_OPT_EXPORT_NAME for an unknown export -> disconnect", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.startHandshake();
                c.sendOption(OPT_EXPORT_NAME, "no-such-volume".getBytes(StandardCharsets.UTF_8));
                expect(c.closedByPeer(CLOSE_WITHIN, new ByteArrayOutputStream()), "connection still open");
            }
        });

        check("option with a 2 GiB length -> refused or disconnect, nothing allocated", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.startHandshake();
                c.send(ByteBuffer.allocate(16).putLong(IHAVEOPT).putInt(OPT_GO).putInt(0x7fffffff).flip());
                c.send(new byte[64 * 1024]);
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                boolean closed = c.closedByPeer(CLOSE_WITHIN, got);
                ByteBuffer b = ByteBuffer.wrap(got.toByteArray());
                boolean errorReply = b.remaining() >= 20 && b.getLong() == OPTION_REPLY_MAGIC && b.getInt() == OPT_GO && (b.getInt() & 0x80000000) != 0;
                expect(closed || errorReply, "neither an error reply nor a disconnect (got " + got.size() + " bytes)");
            }
        });

        check("50 connections abandoned mid-handshake", () -> {
            List<RawNbdClient> idle = new ArrayList<>();
            try {
                for (int i = 0; i < 50; i++) {
                    RawNbdClient c = connect(sock);
                    idle.add(c);
                    if (i % 2 == 0) {
                        c.readGreeting();
                    }
                }
            } finally {
                idle.forEach(RawNbdClient::close);
            }
        });

        check("unknown command -> EINVAL, connection usable", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.handshake("vol");
                RawNbdClient.SimpleReply r = c.command(0x42, 0, BAD_BASE, 4096);
                expect(r.error() == EINVAL, "error " + r.error() + ", expected EINVAL (22)");
                expect(c.read(BAD_BASE, 4096).error() == 0, "read after the unknown command");
            }
        });

        check("unknown command flag -> EINVAL", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.handshake("vol");
                RawNbdClient.SimpleReply r = c.read(1 << 12, BAD_BASE, 4096);
                expect(r.error() == EINVAL, "error " + r.error() + ", expected EINVAL (22)");
                expect(c.read(BAD_BASE, 4096).error() == 0, "read afterwards");
            }
        });

        check("BLOCK_STATUS without a negotiated meta context -> EINVAL", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.handshake("vol");
                RawNbdClient.SimpleReply r = c.command(CMD_BLOCK_STATUS, 0, BAD_BASE, 4096);
                expect(r.error() == EINVAL, "error " + r.error() + ", expected EINVAL (22)");
                expect(c.read(BAD_BASE, 4096).error() == 0, "read afterwards");
            }
        });

        check("out-of-range READ -> EINVAL", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.handshake("vol");
                RawNbdClient.SimpleReply r = c.read(SIZE - 4096, 8192);
                expect(r.error() == EINVAL, "straddling the end: error " + r.error() + ", expected EINVAL (22)");
                r = c.read(SIZE, 4096);
                expect(r.error() == EINVAL, "just past the end: error " + r.error() + ", expected EINVAL (22)");
                r = c.read(0xFFFFFFFFFFFFF000L, 8192);
                expect(r.error() == EINVAL, "offset + length overflows 64 bits: error " + r.error() + ", expected EINVAL (22)");
                expect(c.read(SIZE - 4096, 4096).error() == 0, "last block still readable");
            }
        });

        check("out-of-range WRITE -> ENOSPC (or EINVAL), payload consumed, connection usable", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.handshake("vol");
                byte[] data = new byte[8192];
                Arrays.fill(data, (byte) 0x5c);
                RawNbdClient.SimpleReply r = c.write(SIZE - 4096, data);
                expect(Set.of(ENOSPC, EINVAL).contains(r.error()), "error " + r.error() + ", expected ENOSPC (28) or EINVAL (22)");
                r = c.write(0x7FFFFFFFFFFFF000L, data);
                expect(Set.of(ENOSPC, EINVAL).contains(r.error()), "far beyond: error " + r.error());
                expect(c.read(SIZE - 4096, 4096).error() == 0, "read afterwards");
                expect(c.command(CMD_TRIM, 0, SIZE - 4096, 8192).error() == EINVAL, "TRIM beyond the end -> EINVAL");
                r = c.command(CMD_WRITE_ZEROES, 0, SIZE - 4096, 8192);
                expect(Set.of(ENOSPC, EINVAL).contains(r.error()), "WRITE_ZEROES beyond the end: error " + r.error());
            }
            try (RawNbdClient c = connect(sock)) {
                c.handshake("vol");
                RawNbdClient.SimpleReply last = c.read(SIZE - 4096, 4096);
                expect(last.error() == 0, "read of the last block");
                for (byte b : last.data()) {
                    expect(b != 0x5c, "a refused write changed the last block");
                }
            }
        });

        check("READ longer than the 32 MiB maximum payload -> error or disconnect (or, within the export, the right data)", () -> {
            // 48 MiB lies inside the export: the spec lets the server refuse it (EINVAL/EOVERFLOW),
            // hang up, or serve it. 4 GiB - 16 lies beyond the end of the export: an error or a hang-up.
            for (long len : new long[] {48L * MiB, 0xFFFFFFF0L}) {
                try (RawNbdClient c = connect(sock)) {
                    RawNbdClient.ExportInfo info = c.handshake("vol");
                    expect(info.maxPayload() == 0 || info.maxPayload() <= 32 * MiB, "max payload " + info.maxPayload());
                    long cookie = c.sendRequest(0, CMD_READ, BAD_BASE, (int) len);
                    RawNbdClient.SimpleReply r;
                    try {
                        r = c.readSimpleReply(0);
                    } catch (EOFException disconnected) {
                        System.out.println("bad input: READ of " + len + " bytes: server hung up");
                        continue;
                    }
                    expect(r.cookie() == cookie, "cookie");
                    if (r.error() == 0 && len < SIZE - BAD_BASE) {
                        c.readExactly((int) len); // served: the stream must still be in sync
                    } else {
                        expect(Set.of(EINVAL, EOVERFLOW, ENOMEM).contains(r.error()),
                                "READ of " + len + " bytes: error " + r.error() + ", expected EINVAL or EOVERFLOW");
                    }
                    System.out.println("bad input: READ of " + len + " bytes: error " + r.error());
                    expect(c.read(BAD_BASE, 4096).error() == 0, "read afterwards");
                }
            }
        });

        check("WRITE header announcing 4 GiB, then hang up -> nothing hurt", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.handshake("vol");
                c.sendRequest(0, CMD_WRITE, BAD_BASE, 0xFFFFFFF0);
                try {
                    c.send(new byte[MiB]);
                } catch (IOException closedByServer) {
                    // fine: the server may refuse and hang up at once
                }
            }
        });

        check("request with bad magic -> disconnect", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.handshake("vol");
                ByteBuffer b = ByteBuffer.allocate(REQUEST_HEADER_SIZE);
                b.putInt(0x12345678).putShort((short) 0).putShort((short) CMD_READ).putLong(7).putLong(BAD_BASE).putInt(4096).flip();
                c.send(b);
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                expect(c.closedByPeer(CLOSE_WITHIN, got), "connection still open after a request with bad magic");
            }
        });

        check("WRITE header and half its payload, then hang up", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.handshake("vol");
                byte[] before = c.read(BAD_BASE + MiB, MiB).data();
                expect(before.length == MiB, "read before");
                c.sendRequest(0, CMD_WRITE, BAD_BASE + MiB, MiB);
                byte[] half = new byte[MiB / 2];
                Arrays.fill(half, (byte) 0x66);
                c.send(half);
            }
            try (RawNbdClient c = connect(sock)) {
                c.handshake("vol");
                byte[] data = new byte[MiB];
                Arrays.fill(data, (byte) 0x67);
                expect(c.write(BAD_BASE + MiB, data).error() == 0, "write after the torn one");
                expect(Arrays.equals(c.read(BAD_BASE + MiB, MiB).data(), data), "read back");
            }
        });

        check("requests pipelined, then hang up without reading the replies", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.handshake("vol");
                for (int i = 0; i < 64; i++) {
                    c.sendRequest(0, CMD_READ, BAD_BASE + (long) i * 65536, 65536);
                }
            }
        });

        check("a fresh client works after all of that", () -> {
            try (RawNbdClient c = connect(sock)) {
                c.startHandshake();
                expect(c.list().contains("vol"), "NBD_OPT_LIST names the volume");
                c.go("vol");
                byte[] data = new byte[4096];
                Arrays.fill(data, (byte) 0x21);
                expect(c.write(CMD_FLAG_FUA, BAD_BASE, data).error() == 0, "write");
                expect(Arrays.equals(c.read(BAD_BASE, 4096).data(), data), "read back");
                expect(c.flush().error() == 0, "flush");
                c.disconnect();
                expect(c.closedByPeer(CLOSE_WITHIN, null), "NBD_CMD_DISC closes the connection");
            }
        });
    }
}
