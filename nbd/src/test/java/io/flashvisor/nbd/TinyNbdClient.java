package io.flashvisor.nbd;

import static io.flashvisor.nbd.wire.NbdConstants.*;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/** A blocking NBD client just big enough for socket-level tests (simple replies, one request at a time). */
final class TinyNbdClient implements AutoCloseable {
    private final AutoCloseable transport;
    private Socket socket;
    private DataInputStream in;
    private DataOutputStream out;
    long size;
    int transmissionFlags;

    private TinyNbdClient(AutoCloseable transport, InputStream in, OutputStream out) throws IOException {
        this.transport = transport;
        this.in = new DataInputStream(in);
        this.out = new DataOutputStream(new java.io.BufferedOutputStream(out));
        if (this.in.readLong() != NBDMAGIC || this.in.readLong() != IHAVEOPT) {
            throw new IOException("not an NBD newstyle server");
        }
        this.in.readUnsignedShort();
        this.out.writeInt(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES);
        this.out.flush();
    }

    static TinyNbdClient unix(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        return new TinyNbdClient(ch, Channels.newInputStream(ch), Channels.newOutputStream(ch));
    }

    static TinyNbdClient tcp(String host, int port) throws IOException {
        Socket s = new Socket(host, port);
        TinyNbdClient c = new TinyNbdClient(s, s.getInputStream(), s.getOutputStream());
        c.socket = s;
        return c;
    }

    record OptionReply(int type, byte[] data) {
    }

    OptionReply option(int option, byte[] data) throws IOException {
        out.writeLong(IHAVEOPT);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
        return readOptionReply(option);
    }

    OptionReply readOptionReply(int option) throws IOException {
        if (in.readLong() != OPTION_REPLY_MAGIC || in.readInt() != option) {
            throw new IOException("bad option reply");
        }
        int type = in.readInt();
        byte[] data = new byte[in.readInt()];
        in.readFully(data);
        return new OptionReply(type, data);
    }

    /** STARTTLS, then the TLS handshake on the same socket (TCP only). */
    void startTls(SSLContext tls) throws IOException {
        OptionReply r = option(OPT_STARTTLS, new byte[0]);
        if (r.type() != REP_ACK) {
            throw new IOException("STARTTLS refused: 0x" + Integer.toHexString(r.type()));
        }
        SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(socket, "localhost", socket.getPort(), true);
        s.startHandshake();
        in = new DataInputStream(s.getInputStream());
        out = new DataOutputStream(new java.io.BufferedOutputStream(s.getOutputStream()));
        socket = s;
    }

    /** NBD_OPT_GO; returns the final reply type (REP_ACK on success). */
    int go(String name) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2).putInt(n.length).put(n).putShort((short) 0);
        OptionReply r = option(OPT_GO, b.array());
        while (r.type() == REP_INFO) {
            ByteBuffer d = ByteBuffer.wrap(r.data());
            if (d.getShort() == INFO_EXPORT) {
                size = d.getLong();
                transmissionFlags = Short.toUnsignedInt(d.getShort());
            }
            r = readOptionReply(OPT_GO);
        }
        return r.type();
    }

    private void request(int flags, int type, long cookie, long offset, int length) throws IOException {
        out.writeInt(REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeLong(offset);
        out.writeInt(length);
    }

    /** Reads a simple reply header; returns the error. */
    int replyHeader(long cookie) throws IOException {
        if (in.readInt() != SIMPLE_REPLY_MAGIC) {
            throw new IOException("bad reply magic");
        }
        int error = in.readInt();
        long c = in.readLong();
        if (c != cookie) {
            throw new IOException("cookie " + c + " but expected " + cookie);
        }
        return error;
    }

    byte[] read(long offset, int length) throws IOException {
        sendRead(1, offset, length);
        int error = replyHeader(1);
        if (error != 0) {
            throw new IOException("read failed with error " + error);
        }
        byte[] data = new byte[length];
        in.readFully(data);
        return data;
    }

    void sendRead(long cookie, long offset, int length) throws IOException {
        request(0, CMD_READ, cookie, offset, length);
        out.flush();
    }

    int write(long offset, byte[] data) throws IOException {
        request(0, CMD_WRITE, 2, offset, data.length);
        out.write(data);
        out.flush();
        return replyHeader(2);
    }

    int flush() throws IOException {
        sendFlush(3);
        return replyHeader(3);
    }

    void sendFlush(long cookie) throws IOException {
        request(0, CMD_FLUSH, cookie, 0, 0);
        out.flush();
    }

    byte[] readFully(int length) throws IOException {
        byte[] data = new byte[length];
        in.readFully(data);
        return data;
    }

    void disconnect() throws IOException {
        request(0, CMD_DISC, 4, 0, 0);
        out.flush();
    }

    /** True once the server has closed the connection. */
    boolean atEof() throws IOException {
        try {
            return in.read() < 0;
        } catch (EOFException | java.net.SocketException e) {
            return true;
        }
    }

    @Override
    public void close() throws Exception {
        if (socket != null) {
            socket.close();
        }
        transport.close();
    }
}
