package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** qemu-io patterns: aligned and unaligned writes, write-zeroes, discard, FUA, flush — checked by qemu-io and on the backing file. */
@Timeout(180)
class QemuIoTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final int MiB = 1 << 20;

    /** Runs qemu-io commands, asserts every one succeeded and every pattern matched. */
    static Tools.Result io(String uri, String... commands) {
        Tools.Result r = Tools.qemuIo(uri, commands).ok();
        assertThat(r.output()).as(r.toString()).doesNotContain("Pattern verification failed").doesNotContain("error").doesNotContain("failed");
        long done = r.stdout().lines().filter(l -> l.matches("(wrote|read|discard) \\d+/\\d+ bytes at offset \\d+")).count();
        long expected = List.of(commands).stream().filter(c -> c.startsWith("write") || c.startsWith("read") || c.startsWith("discard")).count();
        assertThat(done).as("completed operations\n" + r).isEqualTo(expected);
        return r;
    }

    @Test
    void patternsAlignedUnalignedZeroesDiscardFua() throws Exception {
        Path img = kit.file("pat.img");
        Tools.sparseFile(img, 16 * MiB);
        FlashvisorProcess fv = kit.serve(img.toString(), "--socket", kit.file("p.sock").toString());
        String uri = fv.uri();

        // Aligned.
        Tools.Result r = io(uri, "write -P 0xab 0 1M", "read -P 0xab 0 1M");
        assertThat(r.stdout()).contains("wrote 1048576/1048576 bytes at offset 0").contains("read 1048576/1048576 bytes at offset 0");

        // Unaligned, inside the 0xab area: the neighbours must be untouched.
        io(uri, "write -P 0x5a 1000 3000", "read -P 0x5a 1000 3000", "read -P 0xab 0 1000", "read -P 0xab 4000 1044576");
        // Unaligned across the end of the 0xab area into never-written (zero) space.
        io(uri, "write -P 0x33 1048000 5000", "read -P 0xab 4000 1044000", "read -P 0x33 1048000 5000",
                "read -P 0x00 1053000 " + (2 * MiB - 1053000));
        // Tiny writes: one byte, and an odd length at an odd offset.
        io(uri, "write -P 0x01 3149823 1", "write -P 0x02 3149824 7", "read -P 0x01 3149823 1", "read -P 0x02 3149824 7",
                "read -P 0x00 3149831 4089", "read -P 0x00 3M 4095");

        // Write zeroes over data, aligned and unaligned.
        io(uri, "write -P 0xcd 2M 1M", "write -z 2M 256k", "write -z 2700000 1000", "read -P 0 2M 256k",
                "read -P 0xcd 2359296 " + (2700000 - 2359296), "read -P 0 2700000 1000", "read -P 0xcd 2701000 " + (3 * MiB - 2701000));

        // Discard: what is outside the range stays; no assumption on what a discarded range reads as
        // (qemu does not even send it when the export does not advertise TRIM).
        io(uri, "write -P 0xee 4M 1M", "discard 4259840 128k", "read -P 0xee 4M 64k", "read -P 0xee 4390912 " + (5 * MiB - 4390912));

        // Write zeroes that may punch a hole (-u: no NO_HOLE flag).
        io(uri, "write -P 0x99 5M 1M", "write -z -u 5M 512k", "read -P 0 5M 512k", "read -P 0x99 5767168 512k");

        // FUA write, flush.
        io(uri, "write -f -P 0x12 6M 64k", "flush", "read -P 0x12 6M 64k");

        // The pattern check can fail: reading the wrong pattern is reported.
        Tools.Result wrong = Tools.qemuIo(uri, "read -P 0xff 0 4k");
        assertThat(wrong.output()).contains("Pattern verification failed");

        // The backing file holds exactly that (pass-through, stopped gracefully).
        assertThat(fv.stop(java.time.Duration.ofSeconds(40))).isZero();
        List<long[]> expect = new ArrayList<>(); // {offset, length, byte}
        expect.add(new long[] {0, 1000, 0xab});
        expect.add(new long[] {1000, 3000, 0x5a});
        expect.add(new long[] {4000, 1044000, 0xab});
        expect.add(new long[] {1048000, 5000, 0x33});
        expect.add(new long[] {1053000, 2 * MiB - 1053000, 0});
        expect.add(new long[] {2 * MiB, 256 * 1024, 0});
        expect.add(new long[] {2359296, 2700000 - 2359296, 0xcd});
        expect.add(new long[] {2700000, 1000, 0});
        expect.add(new long[] {2701000, 3 * MiB - 2701000, 0xcd});
        expect.add(new long[] {3 * MiB, 4095, 0});
        expect.add(new long[] {3149823, 1, 0x01});
        expect.add(new long[] {3149824, 7, 0x02});
        expect.add(new long[] {3149831, 4089, 0});
        expect.add(new long[] {4 * MiB, 64 * 1024, 0xee});
        expect.add(new long[] {5 * MiB, 512 * 1024, 0});
        expect.add(new long[] {5767168, 512 * 1024, 0x99});
        expect.add(new long[] {6 * MiB, 64 * 1024, 0x12});
        expect.add(new long[] {7 * MiB, 9 * MiB, 0});
        for (long[] e : expect) {
            byte[] got = Tools.readRange(img, e[0], (int) e[1]);
            for (int i = 0; i < got.length; i++) {
                if (got[i] != (byte) e[2]) {
                    throw new AssertionError("backing file byte " + (e[0] + i) + " is 0x" + Integer.toHexString(got[i] & 0xff)
                            + ", expected 0x" + Integer.toHexString((int) e[2]));
                }
            }
        }
    }

    @Test
    void patternsOverNodeTcpListener() throws Exception {
        Path img = kit.file("tcp.img");
        Tools.sparseFile(img, 8 * MiB);
        FlashvisorProcess node = kit.node("""
                listeners:
                  - tcp: 127.0.0.1:0
                    insecure: true
                volumes:
                  - name: disk
                    backing: %s
                    policy: pass-through
                """.formatted(img), 1);
        String uri = FlashvisorProcess.withExport(node.uri(), "disk");
        assertThat(uri).startsWith("nbd://127.0.0.1:");
        io(uri, "write -P 0x42 0 2M", "write -P 0x43 1234567 89", "write -z 1M 4k");
        io(uri, "read -P 0x42 0 1M", "read -P 0 1M 4k", "read -P 0x42 1052672 " + (1234567 - 1052672), "read -P 0x43 1234567 89",
                "read -P 0x42 1234656 " + (2 * MiB - 1234656), "read -P 0 2M 6M");
    }
}
