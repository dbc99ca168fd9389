package io.flashvisor.cache.engine;

import io.flashvisor.cache.log.FlashChannel;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * An in-memory flash device that knows which writes are durable: everything written before the
 * last force. {@link #crashImage} builds the device as a power failure now could leave it: the
 * durable bytes plus any subset of the writes since the last force, the last one possibly torn at
 * a 512-byte boundary. Thread-safe.
 */
final class MemoryFlashChannel implements FlashChannel {
    private record Write(long position, byte[] bytes) {
    }

    private final byte[] device;
    private final byte[] durable;
    private final List<Write> pending = new ArrayList<>();
    private boolean closed;

    MemoryFlashChannel(int size) {
        this(new byte[size]);
    }

    /** A device holding {@code image} (used, not copied), all of it durable. */
    MemoryFlashChannel(byte[] image) {
        this.device = image;
        this.durable = image.clone();
    }

    /** The device after a power failure now: durable bytes, a random subset of the pending writes, maybe one torn. */
    synchronized byte[] crashImage(SplittableRandom random) {
        byte[] image = durable.clone();
        for (int i = 0; i < pending.size(); i++) {
            Write w = pending.get(i);
            if (!random.nextBoolean()) {
                continue;
            }
            int length = w.bytes().length;
            if (i == pending.size() - 1 && random.nextInt(4) == 0 && length > 512) {
                length = 512 * (1 + random.nextInt(length / 512 - 1)); // torn
            }
            System.arraycopy(w.bytes(), 0, image, (int) w.position(), length);
        }
        return image;
    }

    /** Everything written so far (as after a clean shutdown). */
    synchronized byte[] image() {
        return device.clone();
    }

    /** The live bytes, for tests that corrupt the device in place. */
    byte[] array() {
        return device;
    }

    synchronized int pendingWrites() {
        return pending.size();
    }

    @Override
    public synchronized void read(ByteBuffer dst, long position) throws IOException {
        checkOpen();
        int n = dst.remaining();
        if (position < 0 || position + n > device.length) {
            throw new EOFException("read [" + position + ", +" + n + ") past the end " + device.length);
        }
        dst.put(device, (int) position, n);
    }

    @Override
    public synchronized void write(ByteBuffer src, long position) throws IOException {
        checkOpen();
        int n = src.remaining();
        if (position < 0 || position + n > device.length) {
            throw new IOException("write [" + position + ", +" + n + ") past the end " + device.length);
        }
        byte[] bytes = new byte[n];
        src.get(bytes);
        System.arraycopy(bytes, 0, device, (int) position, n);
        pending.add(new Write(position, bytes));
    }

    @Override
    public synchronized void force(boolean metadata) throws IOException {
        checkOpen();
        for (Write w : pending) {
            System.arraycopy(w.bytes(), 0, durable, (int) w.position(), w.bytes().length);
        }
        pending.clear();
    }

    @Override
    public synchronized long size() {
        return device.length;
    }

    @Override
    public synchronized void close() {
        closed = true;
    }

    private void checkOpen() throws IOException {
        if (closed) {
            throw new ClosedChannelException();
        }
    }

    @Override
    public String toString() {
        return "memory device of " + (device.length >> 10) + " KiB";
    }
}
