package io.flashvisor.it;

import static io.flashvisor.nbd.wire.NbdConstants.*;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A tiny NBD client for the tests, written from the spec, that can also misbehave: send garbage,
 * bad magic, half a request. Fixed newstyle handshake, simple replies only (it never asks for
 * structured replies). Every read has a deadline, so a silent server fails the test instead of
 * hanging it.
 */
public final class RawNbdClient implements AutoCloseable {

    /** A server's error reply to an option (type has the high bit set). */
    public static final class OptionError extends IOException {
        public final int option;
        public final int type;

        OptionError(int option, int type, String message) {
            super("option " + option + " refused with reply type 0x" + Integer.toHexString(type) + (message.isEmpty() ? "" : ": " + message));
            this.option = option;
            this.type = type;
        }
    }

    public record OptionReply(int option, int type, byte[] data) {
        public boolean isError() {
            return (type & 0x80000000) != 0;
        }

        public String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    /** What {@code NBD_OPT_GO} told: size, transmission flags, block sizes (0 if not sent). */
    public record ExportInfo(long size, int flags, int minBlock, int preferredBlock, int maxPayload) {
        public boolean readOnly() {
            return (flags & FLAG_READ_ONLY) != 0;
        }
    }

    public record SimpleReply(int error, long cookie, byte[] data) {
    }

    private final SocketChannel channel;
    private final Selector selector;
    private Duration timeout = Duration.ofSeconds(20);
    private long nextCookie = 1;
    private int handshakeFlags;

    private RawNbdClient(SocketChannel channel) throws IOException {
        this.channel = channel;
        channel.configureBlocking(false);
        this.selector = Selector.open();
    }

    public static RawNbdClient unix(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return new RawNbdClient(ch);
    }

    public static RawNbdClient tcp(String host, int port) throws IOException {
        SocketChannel ch = SocketChannel.open(new InetSocketAddress(host, port));
        ch.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
        return new RawNbdClient(ch);
    }

    public static RawNbdClient connect(SocketAddress address) throws IOException {
        SocketChannel ch = SocketChannel.open(address);
        return new RawNbdClient(ch);
    }

    public RawNbdClient timeout(Duration t) {
        this.timeout = t;
        return this;
    }

    // ---------------------------------------------------------------- handshake

    /** Reads the server's greeting (NBDMAGIC, IHAVEOPT, handshake flags) and returns the flags. */
    public int readGreeting() throws IOException {
        ByteBuffer b = readExactly(18);
        long magic = b.getLong();
        long opt = b.getLong();
        if (magic != NBDMAGIC) {
            throw new IOException("bad server magic 0x" + Long.toHexString(magic));
        }
        if (opt != IHAVEOPT) {
            throw new IOException("not a newstyle server: 0x" + Long.toHexString(opt));
        }
        handshakeFlags = Short.toUnsignedInt(b.getShort());
        return handshakeFlags;
    }

    public void sendClientFlags(int flags) throws IOException {
        send(ByteBuffer.allocate(4).putInt(flags).flip());
    }

    /** Greeting and client flags (fixed newstyle, no zeroes when the server offers it). */
    public RawNbdClient startHandshake() throws IOException {
        int flags = readGreeting();
        if ((flags & FLAG_FIXED_NEWSTYLE) == 0) {
            throw new IOException("server does not do fixed newstyle: flags " + flags);
        }
        sendClientFlags(FLAG_C_FIXED_NEWSTYLE | (flags & FLAG_NO_ZEROES));
        return this;
    }

    public void sendOption(int option, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16 + data.length);
        b.putLong(IHAVEOPT).putInt(option).putInt(data.length).put(data).flip();
        send(b);
    }

    public OptionReply readOptionReply() throws IOException {
        ByteBuffer h = readExactly(20);
        long magic = h.getLong();
        if (magic != OPTION_REPLY_MAGIC) {
            throw new IOException("bad option reply magic 0x" + Long.toHexString(magic));
        }
        int option = h.getInt();
        int type = h.getInt();
        int len = h.getInt();
        if (len < 0 || len > (1 << 20)) {
            throw new IOException("implausible option reply length " + Integer.toUnsignedString(len));
        }
        byte[] data = new byte[len];
        readExactly(len).get(data);
        return new OptionReply(option, type, data);
    }

    /** {@code NBD_OPT_LIST}: the export names. */
    public List<String> list() throws IOException {
        sendOption(OPT_LIST, new byte[0]);
        List<String> names = new ArrayList<>();
        while (true) {
            OptionReply r = readOptionReply();
            if (r.isError()) {
                throw new OptionError(r.option(), r.type(), r.text());
            }
            if (r.type() == REP_ACK) {
                return names;
            }
            if (r.type() == REP_SERVER) {
                ByteBuffer d = ByteBuffer.wrap(r.data());
                byte[] name = new byte[d.getInt()];
                d.get(name);
                names.add(new String(name, StandardCharsets.UTF_8));
            }
        }
    }

    /** {@code NBD_OPT_GO} asking for block sizes; on success the connection is in transmission. */
    public ExportInfo go(String name) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer d = ByteBuffer.allocate(4 + n.length + 2 + 2);
        d.putInt(n.length).put(n).putShort((short) 1).putShort((short) INFO_BLOCK_SIZE);
        sendOption(OPT_GO, d.array());
        long size = -1;
        int flags = 0;
        int min = 0;
        int pref = 0;
        int max = 0;
        while (true) {
            OptionReply r = readOptionReply();
            if (r.option() != OPT_GO) {
                throw new IOException("reply to option " + r.option() + " while waiting for NBD_OPT_GO");
            }
            if (r.isError()) {
                throw new OptionError(r.option(), r.type(), r.text());
            }
            if (r.type() == REP_ACK) {
                if (size < 0) {
                    throw new IOException("NBD_OPT_GO acknowledged without NBD_INFO_EXPORT");
                }
                return new ExportInfo(size, flags, min, pref, max);
            }
            if (r.type() == REP_INFO) {
                ByteBuffer i = ByteBuffer.wrap(r.data());
                int infoType = Short.toUnsignedInt(i.getShort());
                if (infoType == INFO_EXPORT) {
                    size = i.getLong();
                    flags = Short.toUnsignedInt(i.getShort());
                } else if (infoType == INFO_BLOCK_SIZE) {
                    min = i.getInt();
                    pref = i.getInt();
                    max = i.getInt();
                }
            }
        }
    }

    /** Greeting, flags and {@code NBD_OPT_GO name}. */
    public ExportInfo handshake(String name) throws IOException {
        startHandshake();
        return go(name);
    }

    // ---------------------------------------------------------------- transmission

    public long sendRequest(int flags, int type, long offset, int length) throws IOException {
        long cookie = nextCookie++;
        ByteBuffer b = ByteBuffer.allocate(REQUEST_HEADER_SIZE);
        b.putInt(REQUEST_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie).putLong(offset).putInt(length).flip();
        send(b);
        return cookie;
    }

    /** Reads a simple reply; if it carries no error, also reads {@code dataLength} bytes of payload. */
    public SimpleReply readSimpleReply(int dataLength) throws IOException {
        ByteBuffer h = readExactly(SIMPLE_REPLY_HEADER_SIZE);
        int magic = h.getInt();
        if (magic != SIMPLE_REPLY_MAGIC) {
            throw new IOException("expected a simple reply, got magic 0x" + Integer.toHexString(magic));
        }
        int error = h.getInt();
        long cookie = h.getLong();
        byte[] data = new byte[0];
        if (error == 0 && dataLength > 0) {
            data = new byte[dataLength];
            readExactly(dataLength).get(data);
        }
        return new SimpleReply(error, cookie, data);
    }

    private SimpleReply expect(long cookie, SimpleReply r) throws IOException {
        if (r.cookie() != cookie) {
            throw new IOException("reply for cookie " + r.cookie() + ", expected " + cookie);
        }
        return r;
    }

    public SimpleReply read(long offset, int length) throws IOException {
        return read(0, offset, length);
    }

    public SimpleReply read(int flags, long offset, int length) throws IOException {
        long c = sendRequest(flags, CMD_READ, offset, length);
        return expect(c, readSimpleReply(length));
    }

    public SimpleReply write(long offset, byte[] data) throws IOException {
        return write(0, offset, data);
    }

    public SimpleReply write(int flags, long offset, byte[] data) throws IOException {
        long c = sendRequest(flags, CMD_WRITE, offset, data.length);
        send(ByteBuffer.wrap(data));
        return expect(c, readSimpleReply(0));
    }

    /** Any command without payload either way (flush, trim, write zeroes, cache, unknown ones). */
    public SimpleReply command(int type, int flags, long offset, int length) throws IOException {
        long c = sendRequest(flags, type, offset, length);
        return expect(c, readSimpleReply(0));
    }

    public SimpleReply flush() throws IOException {
        return command(CMD_FLUSH, 0, 0, 0);
    }

    /** {@code NBD_CMD_DISC}: the polite goodbye (no reply). */
    public void disconnect() throws IOException {
        sendRequest(0, CMD_DISC, 0, 0);
    }

    // ---------------------------------------------------------------- raw bytes

    public void send(byte[] bytes) throws IOException {
        send(ByteBuffer.wrap(bytes));
    }

    public void send(ByteBuffer b) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (b.hasRemaining()) {
            if (channel.write(b) == 0) {
                await(SelectionKey.OP_WRITE, deadline, "sending");
            }
        }
    }

    public ByteBuffer readExactly(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (b.hasRemaining()) {
            int r = channel.read(b);
            if (r < 0) {
                throw new EOFException("server closed the connection after " + b.position() + " of " + n + " bytes");
            }
            if (r == 0) {
                await(SelectionKey.OP_READ, deadline, "waiting for " + n + " bytes (got " + b.position() + ")");
            }
        }
        return b.flip();
    }

    /**
     * True if the server closes the connection (EOF or reset) within {@code within}; bytes it
     * sends meanwhile (e.g. an error reply before closing) are returned through {@code sink} if not null.
     */
    public boolean closedByPeer(Duration within, java.io.ByteArrayOutputStream sink) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64 * 1024);
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            int r;
            try {
                r = channel.read(b);
            } catch (IOException e) { // connection reset
                return true;
            }
            if (r < 0) {
                return true;
            }
            if (r > 0) {
                if (sink != null) {
                    sink.write(b.array(), 0, b.position());
                }
                b.clear();
                continue;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            selector.selectedKeys().clear();
            SelectionKey key = channel.register(selector, SelectionKey.OP_READ);
            selector.select(Math.max(1, left / 1_000_000));
            key.interestOps(0);
        }
    }

    private void await(int op, long deadline, String what) throws IOException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new java.net.SocketTimeoutException("no progress for " + timeout + " " + what);
        }
        selector.selectedKeys().clear();
        SelectionKey key = channel.register(selector, op);
        selector.select(Math.max(1, left / 1_000_000));
        key.interestOps(0);
    }

    /** Half-closes the sending side (the server sees EOF). */
    public void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    @Override
    public void close() {
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
