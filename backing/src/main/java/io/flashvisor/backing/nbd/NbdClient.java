package io.flashvisor.backing.nbd;

import static io.flashvisor.nbd.wire.NbdConstants.CMD_BLOCK_STATUS;
import static io.flashvisor.nbd.wire.NbdConstants.CMD_CACHE;
import static io.flashvisor.nbd.wire.NbdConstants.CMD_DISC;
import static io.flashvisor.nbd.wire.NbdConstants.CMD_FLAG_FAST_ZERO;
import static io.flashvisor.nbd.wire.NbdConstants.CMD_FLAG_FUA;
import static io.flashvisor.nbd.wire.NbdConstants.CMD_FLAG_NO_HOLE;
import static io.flashvisor.nbd.wire.NbdConstants.CMD_FLAG_REQ_ONE;
import static io.flashvisor.nbd.wire.NbdConstants.CMD_FLUSH;
import static io.flashvisor.nbd.wire.NbdConstants.CMD_READ;
import static io.flashvisor.nbd.wire.NbdConstants.CMD_TRIM;
import static io.flashvisor.nbd.wire.NbdConstants.CMD_WRITE;
import static io.flashvisor.nbd.wire.NbdConstants.CMD_WRITE_ZEROES;
import static io.flashvisor.nbd.wire.NbdConstants.ESHUTDOWN;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_CACHE;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_FAST_ZERO;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_FLUSH;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_FUA;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_TRIM;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_WRITE_ZEROES;
import static io.flashvisor.nbd.wire.NbdConstants.REQUEST_HEADER_SIZE;
import static io.flashvisor.nbd.wire.NbdConstants.REQUEST_MAGIC;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.Extent;
import io.flashvisor.common.VolumeException;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A blocking, thread-safe NBD client on one connection (TCP or Unix domain socket). Any number of
 * threads may call it at once; their requests are pipelined on the connection.
 *
 * <p>Design notes. Senders write whole request frames under one lock, so frames never interleave;
 * one reader (virtual) thread decodes replies ({@link ReplyReader}) and completes the waiting
 * request by its 64-bit cookie. A READ's data goes straight from the socket into the caller's
 * buffer. Large requests are split into pieces of at most the server's maximum payload (capped at
 * 32 MiB), sent back to back, and awaited together. Commands the server does not advertise are
 * never sent: FLUSH and TRIM become no-ops, CACHE is skipped, FUA becomes a FLUSH after the write,
 * WRITE_ZEROES becomes writes of zeroes. (A server with neither FUA nor FLUSH tells us it has no
 * volatile cache, so a FUA write needs nothing more.)
 *
 * <p>Failure model. Anything that breaks the byte stream — the server closing it, a protocol
 * violation, a send that fails half-way, no reply within the I/O timeout — closes the connection,
 * fails every request in flight with {@link BlockError#IO} and a message that says why, and makes
 * every later call fail at once. There is no reconnect: a write whose reply was lost may or may
 * not have happened, and replaying it silently could reorder it after a newer write; the owner of
 * the store decides what to do (reopen, then rewrite from its own copy). Before a failed call
 * returns, the reader has stopped, so it can no longer touch the caller's buffer.
 *
 * <pre>
 * request  | 0x25609513 (4) | command flags (2) | type (2) | cookie (8) | offset (8) | length (4) | WRITE data |
 * </pre>
 */
public final class NbdClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NbdClient.class);
    /** Largest effect length of one TRIM, WRITE_ZEROES, CACHE or BLOCK_STATUS (32-bit field; servers may refuse more). */
    static final long MAX_EFFECT_LENGTH = 1L << 30;
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

    private final NbdUri uri;
    private final String where;
    private final SocketChannel channel;
    private final NbdExport export;
    private final Duration ioTimeout;
    private final ConcurrentHashMap<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong cookies = new AtomicLong();
    private final ReentrantLock sendLock = new ReentrantLock();
    private final AtomicReference<VolumeException> broken = new AtomicReference<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean disconnectSent = new AtomicBoolean();
    private volatile boolean serverShuttingDown;
    private final Thread reader;

    private NbdClient(NbdUri uri, String where, SocketChannel channel, Handshake.Result negotiated, Duration ioTimeout) {
        this.uri = uri;
        this.where = where;
        this.channel = channel;
        this.export = negotiated.export();
        this.ioTimeout = ioTimeout;
        ReplyReader replies = new ReplyReader(channel, new ReplyReader.Requests() {
            @Override
            public Pending lookup(long cookie) {
                return pending.get(cookie);
            }

            @Override
            public void finish(Pending p) {
                NbdClient.this.finish(p);
            }
        }, export.structuredReplies(), negotiated.metaContextId(), where);
        this.reader = Thread.ofVirtual().name("nbd-reader " + uri).unstarted(() -> readLoop(replies));
    }

    /**
     * Connects and negotiates.
     *
     * @param connectTimeout bound on connecting plus the handshake
     * @param ioTimeout      bound on waiting for any reply; on expiry the connection is closed. {@link Duration#ZERO}: wait forever
     * @throws VolumeException ({@link BlockError#IO}) with a message that names the server and the reason
     */
    public static NbdClient connect(NbdUri uri, Duration connectTimeout, Duration ioTimeout) throws IOException {
        String where = "NBD server " + uri;
        SocketChannel ch = uri.isUnix() ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        // 0 = connecting, 1 = done, 2 = timed out. Whoever moves it from 0 decides the outcome.
        AtomicInteger state = new AtomicInteger();
        Thread watchdog = Thread.ofVirtual().name("nbd-connect-watchdog").start(() -> {
            try {
                Thread.sleep(connectTimeout);
                if (state.compareAndSet(0, 2)) {
                    ch.close();
                }
            } catch (InterruptedException | IOException ignored) {
                // connected in time, or closing failed: nothing to do
            }
        });
        try {
            SocketAddress address = uri.address();
            if (address instanceof java.net.InetSocketAddress inet && inet.isUnresolved()) {
                throw new VolumeException(BlockError.IO, "cannot connect to " + where + ": host '" + uri.host() + "' does not resolve");
            }
            if (!uri.isUnix()) {
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            }
            ch.connect(address);
            Handshake.Result negotiated = Handshake.run(ch, uri.exportName(), where);
            if (!state.compareAndSet(0, 1)) {
                throw new IOException("timed out");
            }
            watchdog.interrupt();
            NbdClient client = new NbdClient(uri, where, ch, negotiated, ioTimeout);
            client.reader.start();
            NbdExport e = negotiated.export();
            LOG.info("connected to {}: {} bytes, flags 0x{}, block sizes {}/{}/{}, structured replies {}, block status {}",
                    where, e.size(), Integer.toHexString(e.transmissionFlags()), e.minimumBlockSize(), e.preferredBlockSize(),
                    e.maximumPayload(), e.structuredReplies(), e.blockStatus());
            return client;
        } catch (IOException | UnresolvedAddressException e) {
            watchdog.interrupt();
            closeQuietly(ch);
            if (state.get() == 2) {
                throw new VolumeException(BlockError.IO, "no answer from " + where + " within " + connectTimeout, e);
            }
            if (e instanceof VolumeException v) {
                throw v;
            }
            throw new VolumeException(BlockError.IO, "cannot connect to " + where + ": " + e, e);
        }
    }

    public NbdUri uri() {
        return uri;
    }

    public NbdExport export() {
        return export;
    }

    /** True once the connection is broken or closed; every call then fails at once. */
    public boolean isBroken() {
        return broken.get() != null;
    }

    public void read(long offset, ByteBuffer dst) throws IOException {
        int total = dst.remaining();
        List<Pending> parts = new ArrayList<>();
        for (int done = 0; done < total; ) {
            int n = Math.min(export.maximumPayload(), total - done);
            parts.add(submit(CMD_READ, 0, offset + done, n, dst.slice(dst.position() + done, n), null));
            done += n;
        }
        awaitAll(parts);
        dst.position(dst.position() + total);
    }

    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        checkWritable();
        int total = src.remaining();
        int flags = fuaFlag(fua);
        List<Pending> parts = new ArrayList<>();
        for (int done = 0; done < total; ) {
            int n = Math.min(export.maximumPayload(), total - done);
            parts.add(submit(CMD_WRITE, flags, offset + done, n, null, src.slice(src.position() + done, n)));
            done += n;
        }
        awaitAll(parts);
        src.position(src.position() + total);
        emulateFua(fua);
    }

    /** FLUSH if the server advertises it; a server that does not has no volatile cache to flush. */
    public void flush() throws IOException {
        if (export.has(FLAG_SEND_FLUSH)) {
            awaitAll(List.of(submit(CMD_FLUSH, 0, 0, 0, null, null)));
        } else {
            checkUsable();
        }
    }

    /** TRIM if the server advertises it, otherwise nothing (a trim is only a hint). */
    public void trim(long offset, long length, boolean fua) throws IOException {
        checkWritable();
        if (export.has(FLAG_SEND_TRIM)) {
            awaitAll(effect(CMD_TRIM, fuaFlag(fua), offset, length));
            emulateFua(fua);
        }
    }

    /**
     * Zeroes a range: WRITE_ZEROES if advertised, else writes of zeroes.
     *
     * @param noHole   the server must keep the range allocated
     * @param fastOnly fail with {@link BlockError#NOT_SUPPORTED} unless the server can zero fast
     */
    public void writeZeroes(long offset, long length, boolean noHole, boolean fastOnly, boolean fua) throws IOException {
        checkWritable();
        if (fastOnly && !(export.has(FLAG_SEND_WRITE_ZEROES) && export.has(FLAG_SEND_FAST_ZERO))) {
            throw new VolumeException(BlockError.NOT_SUPPORTED, where + " cannot zero fast");
        }
        if (export.has(FLAG_SEND_WRITE_ZEROES)) {
            int flags = fuaFlag(fua) | (noHole ? CMD_FLAG_NO_HOLE : 0) | (fastOnly ? CMD_FLAG_FAST_ZERO : 0);
            awaitAll(effect(CMD_WRITE_ZEROES, flags, offset, length));
        } else {
            int chunk = Math.min(export.maximumPayload(), ZEROES.capacity());
            List<Pending> parts = new ArrayList<>();
            for (long done = 0; done < length; ) {
                int n = (int) Math.min(chunk, length - done);
                parts.add(submit(CMD_WRITE, fuaFlag(fua), offset + done, n, null, ZEROES.duplicate().limit(n)));
                done += n;
            }
            awaitAll(parts);
        }
        emulateFua(fua);
    }

    /** CACHE (prefetch) if advertised, otherwise nothing. */
    public void cache(long offset, long length) throws IOException {
        if (export.has(FLAG_SEND_CACHE)) {
            awaitAll(effect(CMD_CACHE, 0, offset, length));
        } else {
            checkUsable();
        }
    }

    /**
     * The allocation of the range starting at {@code offset} as one extent of at most {@code length}
     * bytes ({@code base:allocation}, {@code REQ_ONE}); "allocated data" if block status was not negotiated.
     */
    public Extent blockStatus(long offset, long length) throws IOException {
        if (!export.blockStatus()) {
            checkUsable();
            return new Extent(length, false, false);
        }
        Pending p = submit(CMD_BLOCK_STATUS, CMD_FLAG_REQ_ONE, offset, Math.min(length, MAX_EFFECT_LENGTH), null, null);
        awaitAll(List.of(p));
        return p.extent();
    }

    /** Sends DISC (a soft disconnect) and closes the connection; idempotent. Callers drain their requests first. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (broken.get() == null) {
            sendDisconnect();
            try {
                channel.shutdownOutput();
                reader.join(Duration.ofSeconds(1)); // the server answers DISC by closing; wait briefly for that
            } catch (IOException | InterruptedException e) {
                LOG.debug("soft disconnect from {} was not clean", where, e);
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        connectionBroken(closedError());
        awaitReaderStopped();
    }

    private int fuaFlag(boolean fua) {
        return fua && export.has(FLAG_SEND_FUA) ? CMD_FLAG_FUA : 0;
    }

    /** Without FUA support, a FLUSH after the write gives the same guarantee. */
    private void emulateFua(boolean fua) throws IOException {
        if (fua && !export.has(FLAG_SEND_FUA) && export.has(FLAG_SEND_FLUSH)) {
            flush();
        }
    }

    private List<Pending> effect(int command, int flags, long offset, long length) {
        List<Pending> parts = new ArrayList<>();
        for (long done = 0; done < length; ) {
            long n = Math.min(MAX_EFFECT_LENGTH, length - done);
            parts.add(submit(command, flags, offset + done, n, null, null));
            done += n;
        }
        return parts;
    }

    private void checkWritable() throws VolumeException {
        checkUsable();
        if (export.readOnly()) {
            throw new VolumeException(BlockError.PERMISSION, "export '" + export.name() + "' of " + where + " is read-only");
        }
    }

    private void checkUsable() throws VolumeException {
        VolumeException e = unusable();
        if (e != null) {
            throw copy(e);
        }
    }

    private VolumeException unusable() {
        VolumeException e = broken.get();
        if (e != null) {
            return e;
        }
        if (closed.get()) {
            return closedError();
        }
        if (serverShuttingDown) {
            return new VolumeException(BlockError.SHUTDOWN, where + " is shutting down");
        }
        return null;
    }

    private VolumeException closedError() {
        return new VolumeException(BlockError.SHUTDOWN, "the NBD client for " + where + " is closed");
    }

    /** Registers and sends one request; never throws: a failure completes the request's future instead. */
    private Pending submit(int command, int flags, long offset, long length, ByteBuffer dst, ByteBuffer payload) {
        Pending p = new Pending(cookies.incrementAndGet(), command, offset, length, dst);
        ByteBuffer header = ByteBuffer.allocate(REQUEST_HEADER_SIZE).putInt(REQUEST_MAGIC).putShort((short) flags)
                .putShort((short) command).putLong(p.cookie).putLong(offset).putInt((int) length).flip();
        pending.put(p.cookie, p);
        sendLock.lock();
        try {
            // Checked after registering: connectionBroken() sets the cause before failing what is registered.
            VolumeException e = unusable();
            if (e != null) {
                pending.remove(p.cookie);
                p.done.completeExceptionally(e);
                return p;
            }
            if (payload == null) {
                Wire.writeFully(channel, header);
            } else {
                Wire.writeFully(channel, header, payload);
            }
        } catch (IOException e) {
            connectionBroken(new VolumeException(BlockError.IO,
                    "sending " + p.describe() + " to " + where + " failed (" + e + "); connection closed", e));
        } finally {
            sendLock.unlock();
        }
        return p;
    }

    private void awaitAll(List<Pending> parts) throws VolumeException {
        VolumeException first = null;
        boolean interrupted = false;
        boolean timedOut = false;
        // Durations beyond a year would overflow nanoTime arithmetic; they mean "practically forever".
        long deadline = System.nanoTime() + Math.min(ioTimeout.toSeconds(), 365L * 24 * 3600) * 1_000_000_000L
                + ioTimeout.toNanosPart();
        for (Pending p : parts) {
            while (true) {
                try {
                    if (ioTimeout.isZero() || timedOut) {
                        p.done.get();
                    } else {
                        p.done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    }
                    break;
                } catch (InterruptedException e) {
                    // Keep waiting: until the reply arrives the reader may still write into the caller's buffer.
                    interrupted = true;
                } catch (TimeoutException e) {
                    timedOut = true;
                    connectionBroken(new VolumeException(BlockError.IO, "no reply from " + where + " to " + p.describe()
                            + " within " + ioTimeout + "; connection closed"));
                } catch (ExecutionException e) {
                    VolumeException v = copy(e.getCause() instanceof VolumeException ve ? ve
                            : new VolumeException(BlockError.IO, String.valueOf(e.getCause()), e.getCause()));
                    if (first == null) {
                        first = v;
                    }
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (first != null) {
            if (broken.get() != null) {
                awaitReaderStopped();
            }
            throw first;
        }
    }

    /** A new exception per caller, so each has its own stack trace; the shared one is the cause. */
    private static VolumeException copy(VolumeException e) {
        return new VolumeException(e.error(), e.getMessage(), e);
    }

    private void finish(Pending p) {
        pending.remove(p.cookie);
        if (p.errno() != 0) {
            if (p.errno() == ESHUTDOWN && !serverShuttingDown) {
                LOG.warn("{} is shutting down; disconnecting once in-flight requests are answered", where);
                serverShuttingDown = true;
            }
            String message = p.errorMessage().isEmpty() ? "" : " (" + p.errorMessage() + ")";
            p.done.completeExceptionally(new VolumeException(NbdErrors.toBlockError(p.errno()),
                    where + ": " + p.describe() + " failed: " + NbdErrors.errnoName(p.errno()) + message));
        } else {
            p.done.complete(p.extent());
        }
        // The spec: a client that receives ESHUTDOWN must initiate a soft disconnect.
        // Sent from another thread: the reader must never wait for the send lock, or a sender blocked on a
        // full socket and a server blocked on its replies would wait for each other.
        if (serverShuttingDown && pending.isEmpty() && !disconnectSent.get()) {
            Thread.ofVirtual().name("nbd-disconnect").start(this::sendDisconnect);
        }
    }

    private void sendDisconnect() {
        if (!disconnectSent.compareAndSet(false, true)) {
            return;
        }
        ByteBuffer header = ByteBuffer.allocate(REQUEST_HEADER_SIZE).putInt(REQUEST_MAGIC).putShort((short) 0)
                .putShort((short) CMD_DISC).putLong(cookies.incrementAndGet()).putLong(0).putInt(0).flip();
        sendLock.lock();
        try {
            Wire.writeFully(channel, header);
        } catch (IOException e) {
            LOG.debug("sending DISC to {} failed", where, e);
        } finally {
            sendLock.unlock();
        }
    }

    private void readLoop(ReplyReader replies) {
        try {
            while (true) {
                replies.readOne();
            }
        } catch (Throwable t) {
            VolumeException cause;
            if (closed.get() || disconnectSent.get()) {
                cause = serverShuttingDown && !closed.get()
                        ? new VolumeException(BlockError.SHUTDOWN, where + " shut down; connection closed", t)
                        : closedError();
            } else if (t instanceof EOFException) {
                cause = new VolumeException(BlockError.IO, where + " closed the connection", t);
            } else if (t instanceof VolumeException v) {
                cause = new VolumeException(BlockError.IO, v.getMessage() + "; connection closed", v);
            } else {
                cause = new VolumeException(BlockError.IO, "connection to " + where + " failed: " + t, t);
            }
            connectionBroken(cause);
        }
    }

    /** Closes the connection and fails every request in flight with {@code cause}; only the first cause counts. */
    private void connectionBroken(VolumeException cause) {
        if (!broken.compareAndSet(null, cause)) {
            return;
        }
        if (cause.error() != BlockError.SHUTDOWN) {
            LOG.warn("{}; failing {} request(s) in flight", cause.getMessage(), pending.size());
        }
        closeQuietly(channel);
        for (Pending p : pending.values()) {
            if (pending.remove(p.cookie, p)) {
                p.done.completeExceptionally(cause);
            }
        }
    }

    private void awaitReaderStopped() {
        if (Thread.currentThread() == reader) {
            return;
        }
        boolean interrupted = false;
        while (reader.isAlive()) {
            try {
                reader.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing more to do with a broken connection
        }
    }

    @Override
    public String toString() {
        return "NbdClient[" + uri + "]";
    }
}
