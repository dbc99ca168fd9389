package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.ClusterSecret;
import io.flashvisor.replication.protocol.FrameFormat;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Makes authenticated connections to peers ({@link PeerClient}s) and owns the event-loop threads
 * they run on ({@code replication-client-*}). One per host; closing it closes every client it made.
 * It does not reconnect: when a client's connection is lost, its owner decides whether and when
 * to connect again.
 */
public final class PeerConnector implements AutoCloseable {
    /**
     * @param hostId          this host's id, proven to the peer in the handshake (non-zero)
     * @param secret          the cluster secret
     * @param maxPayload      largest frame payload this host accepts (bounds a DATA reply)
     * @param connectTimeout  TCP connect plus handshake
     * @param requestTimeout  a request not answered within it fails with a {@link java.util.concurrent.TimeoutException}
     * @param maxOutstanding  requests one client may have unanswered; more fail at once with a
     *                        {@link java.util.concurrent.RejectedExecutionException}
     * @param ioThreads       event-loop threads
     * @param tls             mutual TLS under the protocol, or null for plain TCP
     */
    public record Settings(long hostId, ClusterSecret secret, int maxPayload, Duration connectTimeout, Duration requestTimeout,
                           int maxOutstanding, int ioThreads, PeerTls tls) {
        public Settings {
            Objects.requireNonNull(secret, "secret");
            Objects.requireNonNull(connectTimeout, "connectTimeout");
            Objects.requireNonNull(requestTimeout, "requestTimeout");
            if (hostId == 0) {
                throw new IllegalArgumentException("host id 0 is reserved; give this host a non-zero id");
            }
            FrameFormat.checkMaxPayload(maxPayload);
            if (maxOutstanding < 1 || ioThreads < 1 || !connectTimeout.isPositive() || !requestTimeout.isPositive()) {
                throw new IllegalArgumentException("timeouts, the outstanding limit and I/O threads must be positive");
            }
        }

        public static Settings of(long hostId, ClusterSecret secret) {
            return new Settings(hostId, secret, FrameFormat.DEFAULT_MAX_PAYLOAD, Duration.ofSeconds(5), Duration.ofSeconds(10),
                    16384, Transports.defaultThreads(), null);
        }

        public Settings withRequestTimeout(Duration timeout) {
            return new Settings(hostId, secret, maxPayload, connectTimeout, timeout, maxOutstanding, ioThreads, tls);
        }

        public Settings withMaxOutstanding(int max) {
            return new Settings(hostId, secret, maxPayload, connectTimeout, requestTimeout, max, ioThreads, tls);
        }

        /** With mutual TLS under the protocol ({@code null}: plain TCP); the peer must use TLS too. */
        public Settings withTls(PeerTls tls) {
            return new Settings(hostId, secret, maxPayload, connectTimeout, requestTimeout, maxOutstanding, ioThreads, tls);
        }

        @Override
        public String toString() {
            return "PeerConnector.Settings[host " + hostId + ", maxPayload=" + maxPayload + ", requestTimeout=" + requestTimeout
                    + ", maxOutstanding=" + maxOutstanding + ", tls=" + (tls != null) + "]";
        }
    }

    private final Settings settings;
    private final EventLoopGroup group;

    private PeerConnector(Settings settings) {
        this.settings = settings;
        this.group = Transports.newGroup(settings.ioThreads(), "replication-client");
    }

    public static PeerConnector create(Settings settings) {
        return new PeerConnector(settings);
    }

    public Settings settings() {
        return settings;
    }

    /**
     * Connects (with {@link Settings#tls()}: completes the TLS handshake first) and authenticates. The
     * future fails with {@link PeerConnectionException} if the peer cannot be reached, does not answer
     * in time, fails TLS (no TLS, a certificate of another CA), does not know the cluster secret, or
     * is not {@code expectedHostId}.
     *
     * @param expectedHostId the id the peer must prove, or 0 to accept any cluster member
     */
    public CompletableFuture<PeerClient> connect(InetSocketAddress address, long expectedHostId) {
        CompletableFuture<PeerClient> connected = new CompletableFuture<>();
        Bootstrap b = new Bootstrap().group(group).channel(Transports.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, settings.connectTimeout().toMillis()))
                .option(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(512, 64 * 1024, 1 << 20))
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1 << 20, 4 << 20))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        FrameKeys keys = new FrameKeys();
                        FrameEncoder encoder = new FrameEncoder(keys);
                        if (settings.tls() != null) {
                            ch.pipeline().addLast(ReplicationServer.TLS,
                                    settings.tls().newClientHandler(ch.alloc(), address, settings.connectTimeout()));
                        }
                        ch.pipeline().addLast(ReplicationServer.DECODER, new FrameDecoder(keys, settings.maxPayload()))
                                .addLast(ReplicationServer.ENCODER, encoder)
                                .addLast(ReplicationServer.HANDSHAKE,
                                        new ClientHandshakeHandler(settings, address, expectedHostId, keys, encoder, connected));
                    }
                });
        ChannelFuture f = b.connect(address);
        f.addListener(done -> {
            if (!done.isSuccess()) {
                connected.completeExceptionally(new PeerConnectionException("cannot connect to replication peer at " + address + ": "
                        + done.cause().getMessage(), done.cause()));
            } else {
                // Connect and handshake share one deadline.
                f.channel().eventLoop().schedule(() -> {
                    if (connected.completeExceptionally(new PeerConnectionException("replication peer at " + address
                            + " did not complete the handshake within " + settings.connectTimeout().toMillis() + " ms"))) {
                        f.channel().close();
                    }
                }, settings.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
            }
        });
        return connected;
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
