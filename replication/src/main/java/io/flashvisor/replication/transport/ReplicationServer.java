package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.ClusterSecret;
import io.flashvisor.replication.protocol.FrameFormat;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replication listener of one host: accepts peer connections over TCP (inside mutual TLS when
 * {@link Settings#tls()} is set), authenticates them (HMAC handshake over the cluster secret) and
 * hands their validated requests to a {@link ReplicaSink}. Bad input on one connection (a malformed or forged frame, a failed
 * handshake) closes that connection only, with one log line.
 *
 * <p>Threads: a few event-loop threads ({@code replication-io-*}) do all socket, codec and MAC
 * work; the sink is called on them and must not block.
 *
 * <p>Lifecycle: {@link #start} binds or throws; {@link #close} (idempotent) closes the listener
 * and every connection at once — requests in flight are abandoned, and their peers see the
 * connection drop and fail them.
 */
public final class ReplicationServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicationServer.class);
    static final String TLS = "replication-tls";
    static final String DECODER = "replication-decoder";
    static final String ENCODER = "replication-encoder";
    static final String HANDSHAKE = "replication-handshake";
    static final String SESSION = "replication-session";

    /**
     * @param host             address to listen on
     * @param port             TCP port, 0 for any free one (tests)
     * @param hostId           this host's id, as the cluster knows it (non-zero)
     * @param secret           the cluster secret
     * @param maxPayload       largest frame payload this host accepts (advertised in the handshake)
     * @param maxInFlight      requests per connection handed to the sink and not yet answered
     * @param maxInFlightBytes data bytes per connection held by requests in flight
     * @param handshakeTimeout time a new connection has to authenticate
     * @param ioThreads        event-loop threads
     * @param tls              mutual TLS under the protocol, or null for plain TCP
     */
    public record Settings(String host, int port, long hostId, ClusterSecret secret, int maxPayload, int maxInFlight,
                           long maxInFlightBytes, Duration handshakeTimeout, int ioThreads, PeerTls tls) {
        public static final int DEFAULT_MAX_IN_FLIGHT = 256;
        public static final long DEFAULT_MAX_IN_FLIGHT_BYTES = 64L << 20;
        public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

        public Settings {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(secret, "secret: every replication listener needs the cluster secret");
            Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("replication port " + port + " is not a TCP port");
            }
            if (hostId == 0) {
                throw new IllegalArgumentException("host id 0 is reserved; give this host a non-zero id");
            }
            FrameFormat.checkMaxPayload(maxPayload);
            if (maxInFlight < 1 || maxInFlightBytes < 1 || ioThreads < 1 || handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
                throw new IllegalArgumentException("in-flight limits, I/O threads and the handshake timeout must be positive");
            }
        }

        public static Settings of(String host, int port, long hostId, ClusterSecret secret) {
            return new Settings(host, port, hostId, secret, FrameFormat.DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_IN_FLIGHT,
                    DEFAULT_MAX_IN_FLIGHT_BYTES, DEFAULT_HANDSHAKE_TIMEOUT, Transports.defaultThreads(), null);
        }

        public Settings withLimits(int maxPayload, int maxInFlight, long maxInFlightBytes) {
            return new Settings(host, port, hostId, secret, maxPayload, maxInFlight, maxInFlightBytes, handshakeTimeout, ioThreads, tls);
        }

        public Settings withHandshakeTimeout(Duration timeout) {
            return new Settings(host, port, hostId, secret, maxPayload, maxInFlight, maxInFlightBytes, timeout, ioThreads, tls);
        }

        /** With mutual TLS under the protocol ({@code null}: plain TCP). */
        public Settings withTls(PeerTls tls) {
            return new Settings(host, port, hostId, secret, maxPayload, maxInFlight, maxInFlightBytes, handshakeTimeout, ioThreads, tls);
        }

        @Override
        public String toString() {
            return "ReplicationServer.Settings[" + host + ":" + port + ", host " + hostId + ", maxPayload=" + maxPayload
                    + ", maxInFlight=" + maxInFlight + ", maxInFlightBytes=" + maxInFlightBytes + ", tls=" + (tls != null) + "]";
        }
    }

    private final Settings settings;
    private final EventLoopGroup group;
    private final ChannelGroup channels = new DefaultChannelGroup("replication", GlobalEventExecutor.INSTANCE);
    private Channel listener;
    private boolean closed;

    private ReplicationServer(Settings settings) {
        this.settings = settings;
        this.group = Transports.newGroup(settings.ioThreads(), "replication-io");
    }

    public static ReplicationServer start(Settings settings, ReplicaSink sink) throws IOException {
        Objects.requireNonNull(sink, "sink");
        ReplicationServer server = new ReplicationServer(settings);
        try {
            server.bind(sink);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    private void bind(ReplicaSink sink) throws IOException {
        ServerBootstrap b = new ServerBootstrap().group(group).channel(Transports.serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true) // replies are small and latency is the product
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(512, 64 * 1024, 1 << 20))
                // A peer that does not read its replies makes the channel unwritable past 4 MiB; the
                // session handler then stops reading its requests.
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1 << 20, 4 << 20))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        channels.add(ch);
                        FrameKeys keys = new FrameKeys();
                        FrameEncoder encoder = new FrameEncoder(keys);
                        if (settings.tls() != null) {
                            // TLS first: the frames, the HMAC handshake and everything above run inside it.
                            ch.pipeline().addLast(TLS, settings.tls().newServerHandler(ch.alloc(), settings.handshakeTimeout()));
                        }
                        ch.pipeline().addLast(DECODER, new FrameDecoder(keys, settings.maxPayload()))
                                .addLast(ENCODER, encoder)
                                .addLast(HANDSHAKE, new ServerHandshakeHandler(settings, sink, keys, encoder));
                    }
                });
        var future = b.bind(new InetSocketAddress(settings.host(), settings.port())).awaitUninterruptibly();
        if (!future.isSuccess()) {
            Throwable cause = future.cause();
            throw new IOException("cannot listen for replication peers on " + settings.host() + ":" + settings.port() + ": "
                    + (cause == null ? "unknown error" : cause.getMessage()), cause);
        }
        listener = future.channel();
        LOG.info("replication listening address={} host={} transport={} tls={}", listener.localAddress(), settings.hostId(),
                Transports.EPOLL ? "epoll" : "nio", settings.tls() == null ? "off" : "mutual, TLSv1.3, cert \"" + settings.tls().subject() + "\"");
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    public int port() {
        return address().getPort();
    }

    /** Open connections, authenticated or not. */
    public int connectionCount() {
        return channels.size();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (listener != null) {
            listener.close().awaitUninterruptibly();
        }
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        LOG.info("replication server stopped host={}", settings.hostId());
    }
}
