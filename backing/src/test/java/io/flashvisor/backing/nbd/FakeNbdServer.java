package io.flashvisor.backing.nbd;

import static io.flashvisor.nbd.wire.NbdConstants.FLAG_FIXED_NEWSTYLE;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_HAS_FLAGS;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_NO_ZEROES;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_FLUSH;
import static io.flashvisor.nbd.wire.NbdConstants.IHAVEOPT;
import static io.flashvisor.nbd.wire.NbdConstants.INFO_EXPORT;
import static io.flashvisor.nbd.wire.NbdConstants.NBDMAGIC;
import static io.flashvisor.nbd.wire.NbdConstants.OPTION_REPLY_MAGIC;
import static io.flashvisor.nbd.wire.NbdConstants.OPT_GO;
import static io.flashvisor.nbd.wire.NbdConstants.REP_ACK;
import static io.flashvisor.nbd.wire.NbdConstants.REP_ERR_UNSUP;
import static io.flashvisor.nbd.wire.NbdConstants.REP_INFO;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A scripted NBD server for failure tests: it does a minimal fixed-newstyle handshake (no
 * structured replies, one export), then hands the connection to the test's script, which may
 * misbehave at will.
 */
final class FakeNbdServer implements AutoCloseable {
    static final long SIZE = 1 << 20;

    /** What the server does after the handshake. */
    interface Script {
        void run(SocketChannel ch) throws Exception;
    }

    /** One request as the server saw it. */
    record Request(int flags, int type, long cookie, long offset, int length) {
        static Request read(SocketChannel ch) throws IOException {
            ByteBuffer b = readFully(ch, 28);
            return new Request(b.getShort(4) & 0xffff, b.getShort(6) & 0xffff, b.getLong(8), b.getLong(16), b.getInt(24));
        }
    }

    private final ServerSocketChannel server;
    private final Path socket;
    private final Thread thread;
    volatile Throwable failure;

    FakeNbdServer(Path dir, Script script) throws IOException {
        socket = dir.resolve("fake-" + System.nanoTime() + ".sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(socket));
        thread = Thread.ofVirtual().start(() -> {
            try (SocketChannel ch = server.accept()) {
                handshake(ch);
                script.run(ch);
            } catch (Throwable t) {
                failure = t;
            }
        });
    }

    NbdClient connect(Duration ioTimeout) throws IOException {
        return NbdClient.connect(NbdUri.unix(socket, ""), Duration.ofSeconds(5), ioTimeout);
    }

    private static void handshake(SocketChannel ch) throws IOException {
        write(ch, ByteBuffer.allocate(18).putLong(NBDMAGIC).putLong(IHAVEOPT)
                .putShort((short) (FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES)).flip());
        readFully(ch, 4);
        while (true) {
            ByteBuffer h = readFully(ch, 16);
            int option = h.getInt(8);
            readFully(ch, h.getInt(12));
            if (option == OPT_GO) {
                ByteBuffer info = ByteBuffer.allocate(12).putShort((short) INFO_EXPORT).putLong(SIZE)
                        .putShort((short) (FLAG_HAS_FLAGS | FLAG_SEND_FLUSH)).flip();
                optionReply(ch, option, REP_INFO, info);
                optionReply(ch, option, REP_ACK, ByteBuffer.allocate(0));
                return;
            }
            optionReply(ch, option, REP_ERR_UNSUP, ByteBuffer.allocate(0));
        }
    }

    private static void optionReply(SocketChannel ch, int option, int type, ByteBuffer data) throws IOException {
        write(ch, ByteBuffer.allocate(20).putLong(OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt(data.remaining()).flip());
        write(ch, data);
    }

    static void simpleReply(SocketChannel ch, int magic, int error, long cookie, byte[] data) throws IOException {
        write(ch, ByteBuffer.allocate(16).putInt(magic).putInt(error).putLong(cookie).flip());
        if (data != null) {
            write(ch, ByteBuffer.wrap(data));
        }
    }

    static ByteBuffer readFully(SocketChannel ch, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        Wire.readFully(ch, b);
        return b.flip();
    }

    static void write(SocketChannel ch, ByteBuffer b) throws IOException {
        Wire.writeFully(ch, b);
    }

    @Override
    public void close() throws IOException {
        server.close();
        try {
            thread.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
