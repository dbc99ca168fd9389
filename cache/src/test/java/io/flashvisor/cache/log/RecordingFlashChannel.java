package io.flashvisor.cache.log;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An in-memory flash device that logs every write and force, in order, so that a test can build the
 * device as a power failure at any moment could have left it ({@link CrashImages}). A test may put
 * its own marks into the same log ({@link #mark}), e.g. "this append was acknowledged", which then
 * sit in the true order relative to the writes and forces. Thread-safe.
 */
final class RecordingFlashChannel implements FlashChannel {
    sealed interface Event permits Write, Force, Mark {
    }

    record Write(long position, byte[] bytes) implements Event {
        long end() {
            return position + bytes.length;
        }
    }

    record Force() implements Event {
    }

    record Mark(Object what) implements Event {
    }

    private final byte[] device;
    private final List<Event> events = new ArrayList<>();
    private boolean recording;
    private boolean closed;
    private long writes;
    private long forces;

    RecordingFlashChannel(int size) {
        this.device = new byte[size];
    }

    /** A device holding {@code image} (not copied). */
    RecordingFlashChannel(byte[] image) {
        this.device = image;
    }

    /** The same device (same bytes, not a copy) behind a new channel: a restart after {@link #close}. */
    RecordingFlashChannel reopen() {
        return new RecordingFlashChannel(device);
    }

    /** Starts logging and returns the device as it is now: the base the logged writes apply to. */
    synchronized byte[] startRecording() {
        events.clear();
        recording = true;
        return device.clone();
    }

    synchronized void mark(Object what) {
        if (recording) {
            events.add(new Mark(what));
        }
    }

    synchronized List<Event> events() {
        return List.copyOf(events);
    }

    synchronized byte[] image() {
        return device.clone();
    }

    /** The live device array, for tests that corrupt it in place. */
    byte[] array() {
        return device;
    }

    synchronized long writes() {
        return writes;
    }

    synchronized long forces() {
        return forces;
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
        writes++;
        if (recording) {
            events.add(new Write(position, bytes));
        }
    }

    @Override
    public synchronized void force(boolean metadata) throws IOException {
        checkOpen();
        forces++;
        if (recording) {
            events.add(new Force());
        }
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
        return "memory device of " + device.length + " bytes";
    }

    static boolean sameBytes(byte[] a, byte[] b) {
        return Arrays.equals(a, b);
    }
}
