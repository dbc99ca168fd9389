package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.nbd.ExportCatalog;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslContext;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executor;

/**
 * One server-side connection in an {@link EmbeddedChannel}, driven by a test as the client: send
 * frames, read the server's bytes back. Every buffer the server allocates comes from a
 * {@link TrackingAllocator}; {@link #close()} asserts that all were released.
 */
final class TestConnection implements AutoCloseable {
    final EmbeddedChannel channel;
    final TrackingAllocator alloc = new TrackingAllocator();
    final ServerContext context;
    private final ByteBuf received = Unpooled.buffer();

    record OptionReply(int option, int type, byte[] data) {
        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    record Chunk(int flags, int type, long cookie, byte[] payload) {
        java.nio.ByteBuffer buffer() {
            return java.nio.ByteBuffer.wrap(payload);
        }
    }

    record Simple(int error, long cookie, byte[] data) {
    }

    TestConnection(ExportCatalog catalog, int maxPayload, Executor executor, ConnectionRegistry registry, SslContext ssl) {
        this.context = new ServerContext(catalog, maxPayload, executor, registry);
        channel = new EmbeddedChannel(false, false, new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                HandshakeHandler.install(ch.pipeline(), context, ssl);
            }
        });
        channel.config().setAllocator(alloc);
        try {
            channel.register();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    TestConnection(ExportCatalog catalog) {
        this(catalog, 1 << 20, Runnable::run, new ConnectionRegistry(), null);
    }

    /** Sends bytes as one inbound buffer and runs whatever tasks that caused. */
    TestConnection send(byte[] bytes) {
        if (channel.isOpen()) {
            ByteBuf b = alloc.buffer(bytes.length).writeBytes(bytes);
            channel.writeInbound(b);
        }
        channel.runPendingTasks();
        return this;
    }

    TestConnection send(byte[]... parts) {
        return send(Frames.concat(parts));
    }

    /** Moves what the server wrote into the receive buffer; returns how many bytes are readable. */
    int pump() {
        channel.runPendingTasks();
        Object o;
        while ((o = channel.readOutbound()) != null) {
            ByteBuf b = (ByteBuf) o;
            received.writeBytes(b);
            b.release();
        }
        return received.readableBytes();
    }

    void need(int n) {
        assertThat(pump()).as("bytes from server").isGreaterThanOrEqualTo(n);
    }

    byte[] readBytes(int n) {
        need(n);
        byte[] b = new byte[n];
        received.readBytes(b);
        return b;
    }

    long readLong() {
        need(8);
        return received.readLong();
    }

    int readInt() {
        need(4);
        return received.readInt();
    }

    int readShort() {
        need(2);
        return received.readUnsignedShort();
    }

    int available() {
        return pump();
    }

    boolean isOpen() {
        channel.runPendingTasks();
        return channel.isOpen();
    }

    /** Reads the greeting and sends the client flags. */
    TestConnection greet(int clientFlags) {
        assertThat(readLong()).isEqualTo(NBDMAGIC);
        assertThat(readLong()).isEqualTo(IHAVEOPT);
        assertThat(readShort()).isEqualTo(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
        return send(Frames.clientFlags(clientFlags));
    }

    TestConnection greet() {
        return greet(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES);
    }

    OptionReply readOptionReply() {
        assertThat(readLong()).isEqualTo(OPTION_REPLY_MAGIC);
        int option = readInt();
        int type = readInt();
        int length = readInt();
        return new OptionReply(option, type, readBytes(length));
    }

    OptionReply option(int option, byte[] data) {
        send(Frames.option(option, data));
        return readOptionReply();
    }

    /**
     * Greets, optionally negotiates structured replies and base:allocation, then GO on
     * {@code export}; checks the replies and returns the transmission flags.
     */
    int go(String export, boolean structured, boolean blockStatus) {
        greet();
        if (structured) {
            assertThat(option(OPT_STRUCTURED_REPLY, new byte[0]).type()).isEqualTo(REP_ACK);
        }
        if (blockStatus) {
            assertThat(option(OPT_SET_META_CONTEXT, Frames.metaQuery(export, META_BASE_ALLOCATION)).type()).isEqualTo(REP_META_CONTEXT);
            assertThat(readOptionReply().type()).isEqualTo(REP_ACK);
        }
        send(Frames.option(OPT_GO, Frames.exportQuery(export)));
        int flags = -1;
        while (true) {
            OptionReply r = readOptionReply();
            assertThat(r.option()).isEqualTo(OPT_GO);
            if (r.type() == REP_ACK) {
                break;
            }
            assertThat(r.type()).as("GO reply type").isEqualTo(REP_INFO);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(r.data());
            if (b.getShort() == INFO_EXPORT) {
                b.getLong();
                flags = Short.toUnsignedInt(b.getShort());
            }
        }
        assertThat(channel.pipeline().get(TransmissionHandler.class)).isNotNull();
        return flags;
    }

    Simple readSimple(int dataLength) {
        assertThat(readInt()).isEqualTo(SIMPLE_REPLY_MAGIC);
        int error = readInt();
        long cookie = readLong();
        return new Simple(error, cookie, error == 0 ? readBytes(dataLength) : new byte[0]);
    }

    Chunk readChunk() {
        assertThat(readInt()).isEqualTo(STRUCTURED_REPLY_MAGIC);
        int flags = readShort();
        int type = readShort();
        long cookie = readLong();
        int length = readInt();
        return new Chunk(flags, type, cookie, readBytes(length));
    }

    /** Reads one reply of either kind (the magic tells); {@code readLength} is the data of a simple read. */
    Object readReply(int readLength) {
        need(4);
        int magic = received.getInt(received.readerIndex());
        return magic == SIMPLE_REPLY_MAGIC ? readSimple(readLength) : readChunk();
    }

    @Override
    public void close() {
        channel.runPendingTasks();
        channel.finishAndReleaseAll();
        channel.runPendingTasks();
        received.release();
        alloc.assertAllReleased();
    }
}
