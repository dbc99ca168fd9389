package io.flashvisor.nbd;

import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.VolumeFeatures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A minimal file-backed volume for benchmarks and real-client tests (positional I/O, no cache). */
public final class FileVolume implements BlockVolume {
    private final FileChannel ch;
    private final long size;

    public FileVolume(Path file, long size) throws IOException {
        this.ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        if (ch.size() < size) {
            ch.truncate(size);
            ch.write(ByteBuffer.allocate(1), size - 1);
        }
        this.size = size;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public VolumeFeatures features() {
        return new VolumeFeatures(false, true, true, false, false, false, true, false, false, 1, 4096);
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
                throw new IOException("eof");
            }
            pos += n;
        }
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        long pos = offset;
        while (src.hasRemaining()) {
            pos += ch.write(src, pos);
        }
        if (fua) {
            ch.force(false);
        }
    }

    @Override
    public void flush() throws IOException {
        ch.force(false);
    }

    @Override
    public void trim(long offset, long length, boolean fua) {
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayTrim, boolean fastOnly, boolean fua) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
