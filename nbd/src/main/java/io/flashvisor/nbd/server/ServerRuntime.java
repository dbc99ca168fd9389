package io.flashvisor.nbd.server;

import io.flashvisor.nbd.ExportCatalog;
import io.flashvisor.nbd.Listener;
import io.flashvisor.nbd.NbdServer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running machinery behind {@link NbdServer}: event loops (native epoll), one server channel per
 * listener, the executor for blocking volume calls, and the drain at shutdown. It lives in this
 * package so that the codec and handlers can stay package-private; it is not an API.
 *
 * <p>Threads: a few event-loop threads ({@code nbd-io-*}, at most 4) do all socket work; volume
 * calls, which block, run on {@code nbd-volume-*} threads (see {@link #newVolumeExecutor}).
 *
 * <p>Shutdown order: close the listening sockets; drain every connection in transmission (in-flight
 * requests finish, new ones get {@code ESHUTDOWN}) for up to the drain timeout; close every
 * connection; stop the event loops; interrupt volume calls still running; delete socket files.
 */
public final class ServerRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ServerRuntime.class);

    private final NbdServer.Settings settings;
    private final EventLoopGroup group;
    private final ExecutorService volumeExecutor;
    private final ConnectionRegistry registry = new ConnectionRegistry();
    private final ChannelGroup channels = new DefaultChannelGroup("nbd", GlobalEventExecutor.INSTANCE);
    private final Map<Listener, Channel> serverChannels = new LinkedHashMap<>();
    private final List<Path> socketFiles = new ArrayList<>();
    private final ServerContext context;
    private boolean closed;

    private ServerRuntime(ExportCatalog catalog, NbdServer.Settings settings) {
        this.settings = settings;
        int threads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
        this.group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("nbd-io", true), EpollIoHandler.newFactory());
        this.volumeExecutor = newVolumeExecutor();
        this.context = new ServerContext(catalog, settings.maxPayload(), volumeExecutor, registry);
    }

    /**
     * The threads that run blocking volume calls: a cached pool of platform threads. Idle threads
     * are reused (no thread is created per request) and expire after a minute; the pool grows while
     * calls block, so one slow volume cannot starve the others. Its size is bounded by the
     * per-connection in-flight limit ({@link TransmissionHandler#MAX_IN_FLIGHT}) times the number
     * of connections. Virtual threads were measured too: file I/O pins their carrier threads, and
     * at queue depth 32 they were slower than reused platform threads.
     */
    private static ExecutorService newVolumeExecutor() {
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
                new DefaultThreadFactory("nbd-volume", true));
    }

    /** Binds every listener; on failure, releases what was bound and names the listener that failed. */
    public static ServerRuntime start(ExportCatalog catalog, List<Listener> listeners, NbdServer.Settings settings) throws IOException {
        if (listeners.isEmpty()) {
            throw new IllegalArgumentException("no listener configured: add a Unix socket or a TCP listener");
        }
        if (!Epoll.isAvailable()) {
            throw new IOException("the NBD server needs Linux native epoll, which is unavailable: "
                    + Epoll.unavailabilityCause());
        }
        ServerRuntime runtime = new ServerRuntime(catalog, settings);
        try {
            for (Listener l : listeners) {
                runtime.bind(l);
            }
        } catch (IOException | RuntimeException e) {
            runtime.close();
            throw e;
        }
        return runtime;
    }

    private void bind(Listener listener) throws IOException {
        switch (listener) {
            case Listener.Unix u -> bindUnix(u);
            case Listener.Tcp t -> bindTcp(t);
        }
    }

    private void bindUnix(Listener.Unix u) throws IOException {
        Path path = u.path().toAbsolutePath();
        UnixSockets.clearStale(path);
        ServerBootstrap b = bootstrap(null).channel(EpollServerDomainSocketChannel.class);
        Channel ch = bindOrFail(b, new DomainSocketAddress(path.toFile()), u);
        socketFiles.add(path);
        try {
            UnixSockets.chmod(path, u.mode());
        } catch (IOException e) {
            throw new IOException("cannot set mode " + String.format("%04o", u.mode()) + " on socket " + path + ": " + e.getMessage(), e);
        }
        serverChannels.put(u, ch);
        LOG.info("nbd listening listener=\"{}\"", u);
    }

    private void bindTcp(Listener.Tcp t) throws IOException {
        SslContext ssl = null;
        if (t.tls() != null) {
            ssl = TlsContexts.forServer(t.tls());
        }
        ServerBootstrap b = bootstrap(ssl).channel(EpollServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true) // the spec asks for it; replies are small
                .option(ChannelOption.SO_REUSEADDR, true);
        Channel ch = bindOrFail(b, new InetSocketAddress(t.host(), t.port()), t);
        serverChannels.put(t, ch);
        int port = ((InetSocketAddress) ch.localAddress()).getPort();
        if (ssl == null) {
            LOG.warn("nbd listening on plaintext TCP listener=\"{}\" port={}: anyone who can reach this port can read and write "
                    + "the exports; configure TLS or use a Unix socket", t, port);
        } else {
            LOG.info("nbd listening listener=\"{}\" port={}", t, port);
        }
    }

    private ServerBootstrap bootstrap(SslContext ssl) {
        return new ServerBootstrap().group(group)
                // Start reads at 64 KiB: a 4 KiB write (4124 bytes with its header) then arrives in
                // one read instead of two or three small ones that must be merged.
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(512, 64 * 1024, 1 << 20))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        channels.add(ch);
                        HandshakeHandler.install(ch.pipeline(), context, ssl);
                    }
                });
    }

    private Channel bindOrFail(ServerBootstrap b, java.net.SocketAddress address, Listener listener) throws IOException {
        var future = b.bind(address).awaitUninterruptibly();
        if (!future.isSuccess()) {
            Throwable cause = future.cause();
            throw new IOException("cannot listen on " + listener + ": " + (cause == null ? "unknown error" : cause.getMessage()), cause);
        }
        return future.channel();
    }

    public int boundPort(Listener.Tcp listener) {
        Channel ch;
        synchronized (this) {
            ch = serverChannels.get(listener);
        }
        if (ch == null) {
            throw new IllegalArgumentException("not a listener of this server: " + listener);
        }
        return ((InetSocketAddress) ch.localAddress()).getPort();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        for (Channel ch : serverChannels.values()) {
            ch.close().awaitUninterruptibly();
        }
        drain(settings.drainTimeout());
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        volumeExecutor.shutdownNow(); // volume calls still running past the drain timeout are interrupted
        for (Path p : socketFiles) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                LOG.warn("cannot delete socket file path={}: {}", p, e.getMessage());
            }
        }
        LOG.info("nbd server stopped");
    }

    private void drain(Duration timeout) {
        List<CompletableFuture<Void>> drains = registry.drainAll();
        if (drains.isEmpty()) {
            return;
        }
        try {
            CompletableFuture.allOf(drains.toArray(CompletableFuture[]::new)).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            LOG.info("nbd drained connections={}", drains.size());
        } catch (TimeoutException e) {
            long busy = drains.stream().filter(f -> !f.isDone()).count();
            LOG.warn("nbd drain timed out after {}: closing {} connection(s) with requests still in flight", timeout, busy);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException e) {
            LOG.warn("nbd drain failed", e);
        }
    }
}
