package io.flashvisor.backing.align;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

class AlignedAccessTest {

    /** An in-memory device that insists on alignment and yields between steps to invite races. */
    static final class StrictDevice implements AlignedAccess.Device {
        final byte[] data;
        final int alignment;
        final AtomicInteger misaligned = new AtomicInteger();

        StrictDevice(int size, int alignment) {
            this.data = new byte[size];
            this.alignment = alignment;
        }

        private void check(long offset, int length) {
            if (offset % alignment != 0 || length % alignment != 0 || offset + length > data.length) {
                misaligned.incrementAndGet();
                throw new IllegalStateException("misaligned request " + offset + "+" + length);
            }
        }

        @Override
        public void readAligned(long offset, ByteBuffer dst) {
            check(offset, dst.remaining());
            byte[] copy;
            synchronized (data) {
                copy = Arrays.copyOfRange(data, (int) offset, (int) offset + dst.remaining());
            }
            Thread.yield();
            dst.put(copy);
        }

        @Override
        public void writeAligned(long offset, ByteBuffer src, boolean fua) {
            check(offset, src.remaining());
            Thread.yield();
            synchronized (data) {
                src.get(data, (int) offset, src.remaining());
            }
        }
    }

    @Provide
    Arbitrary<Integer> alignments() {
        return Arbitraries.of(1, 8, 512, 4096);
    }

    @Property(tries = 200)
    void behavesLikeAByteArray(@ForAll("alignments") int alignment, @ForAll long seed) throws Exception {
        int size = 64 * 1024;
        StrictDevice device = new StrictDevice(size, alignment);
        AlignedAccess access = new AlignedAccess(device, alignment, 8192);
        byte[] model = new byte[size];
        Random rnd = new Random(seed);
        for (int i = 0; i < 40; i++) {
            int off = rnd.nextInt(size);
            int len = rnd.nextInt(Math.min(size - off, 20_000) + 1);
            int slack = rnd.nextInt(5); // buffer position != 0
            ByteBuffer buf = rnd.nextBoolean() ? ByteBuffer.allocate(len + slack) : ByteBuffer.allocateDirect(len + slack);
            buf.position(slack);
            if (rnd.nextBoolean()) {
                byte[] data = new byte[len];
                rnd.nextBytes(data);
                buf.put(data).position(slack);
                access.write(off, buf, false);
                System.arraycopy(data, 0, model, off, len);
            } else {
                access.read(off, buf);
                byte[] got = new byte[len];
                buf.get(slack, got);
                assertThat(got).isEqualTo(Arrays.copyOfRange(model, off, off + len));
            }
            assertThat(buf.hasRemaining()).as("buffer consumed").isFalse();
        }
        assertThat(device.data).isEqualTo(model);
        assertThat(device.misaligned).hasValue(0);
    }

    @Property(tries = 30)
    void concurrentUnalignedWritesToSharedBlocksLoseNothing(@ForAll("alignments") int alignment, @ForAll long seed) throws Exception {
        int size = 16 * 1024;
        StrictDevice device = new StrictDevice(size, alignment);
        AlignedAccess access = new AlignedAccess(device, alignment, 4096);
        byte[] expected = DisjointWriters.run((off, src) -> access.write(off, src, false), 0, size, 8, seed);
        assertThat(device.data).isEqualTo(expected);
        assertThat(device.misaligned).hasValue(0);
    }
}
