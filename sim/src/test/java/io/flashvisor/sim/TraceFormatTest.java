package io.flashvisor.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.sim.trace.BlockTrace;
import io.flashvisor.sim.trace.MalformedTraceException;
import io.flashvisor.sim.trace.TraceFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceFormatTest {
    @TempDir
    Path dir;

    @Test
    void sampleVscsiTraceSplitsIntoTheReadmesBlockAccesses() throws IOException {
        BlockTrace t = SampleTrace.get();
        assertThat(TraceFormat.detect(SampleTrace.path())).isEqualTo(TraceFormat.VSCSI);
        assertThat(t.requests()).isEqualTo(113_872);
        assertThat(t.size()).isEqualTo(1_141_869);
        assertThat(t.writes()).isEqualTo(656_169);
        assertThat(t.distinctBlocks()).isEqualTo(269_210);
        // First record: write of 512 bytes at sector 42932745 = byte 21981565440, inside block 5366593.
        assertThat(t.key(0)).isEqualTo(42_932_745L * 512 / 4096);
        assertThat(BlockTrace.isWrite(t.word(0))).isTrue();
        assertThat(BlockTrace.bytesOf(t.word(0))).isEqualTo(512);
        assertThat(t.timeUs(0)).isZero();
        assertThat(t.timeUs(t.size() - 1)).isBetween(7_200_000_000L, 7_200_100_000L);
    }

    @Test
    void vscsiVersion2RecordsAreRead() throws IOException {
        ByteBuffer bb = ByteBuffer.allocate(80).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 2; i++) {
            int o = i * 40;
            bb.putShort(o, (short) (i == 0 ? 0x28 : 0x2a)).putShort(o + 2, (short) 0x0200).putInt(o + 4, 1)
                    .putInt(o + 8, 8192).putInt(o + 12, 1).putLong(o + 16, 16 + i * 8).putLong(o + 24, 1000 + i).putLong(o + 32, 5);
        }
        Path f = dir.resolve("v2.vscsi");
        Files.write(f, bb.array());
        BlockTrace t = TraceFormat.read(f);
        assertThat(t.size()).isEqualTo(4);
        assertThat(new long[] {t.key(0), t.key(1), t.key(2), t.key(3)}).containsExactly(2, 3, 3, 4); // sectors 16 and 24, 8 KiB each
        assertThat(BlockTrace.isWrite(t.word(0))).isFalse();
        assertThat(BlockTrace.isWrite(t.word(2))).isTrue();
        assertThat(t.timeUs(2)).isEqualTo(1);
    }

    @Test
    void vscsiCsvGivesTheSameAccessesAsTheBinary() throws IOException {
        Path f = write("t.csv", """
                version,time,op,size,lbn
                1,5633898,2a,512,42932745
                1,5633899,28,8192,7
                """);
        BlockTrace t = TraceFormat.read(f);
        assertThat(t.size()).isEqualTo(1 + 3); // sectors 7..23 = bytes 3584..11776 touch blocks 0, 1, 2
        assertThat(t.key(0)).isEqualTo(42_932_745L * 512 / 4096);
        assertThat(new long[] {t.key(1), t.key(2), t.key(3)}).containsExactly(0, 1, 2);
        assertThat(BlockTrace.bytesOf(t.word(1))).isEqualTo(512);
        assertThat(BlockTrace.bytesOf(t.word(3))).isEqualTo(3584 + 8192 - 8192); // ends at byte 11776
        assertThat(t.timeUs(1)).isEqualTo(1_000_000);
    }

    @Test
    void msrCsvKeepsDisksApart() throws IOException {
        Path f = write("msr.csv", """
                128166372003061629,src1,0,Read,8192,4096,1331
                128166372003061630,src1,1,Write,8192,4096,1331
                128166372013061629,src1,0,Write,8192,8192,1331
                """);
        assertThat(TraceFormat.detect(f)).isEqualTo(TraceFormat.MSR);
        BlockTrace t = TraceFormat.read(f);
        assertThat(t.size()).isEqualTo(4);
        assertThat(t.key(0)).isEqualTo(2);
        assertThat(t.key(1)).isNotEqualTo(2); // disk 1's block 2 is another block
        assertThat(t.key(2)).isEqualTo(2);
        assertThat(t.timeUs(2)).isEqualTo(1_000_000);
        assertThat(t.distinctBlocks()).isEqualTo(3);
    }

    @Test
    void blkparseCountsOneActionPerRequest() throws IOException {
        Path f = write("blk.txt", """
                  8,0    3        1     0.000000000  4162  Q  WS 3417048 + 8 [kjournald]
                  8,0    3        2     0.000001000  4162  G  WS 3417048 + 8 [kjournald]
                  8,0    3        3     0.000002000  4162  D  WS 3417048 + 8 [kjournald]
                  8,0    3        4     0.500000000  4162  C  WS 3417048 + 8 [0]
                  8,0    1        5     1.250000000  4200  Q   R 16 + 16 [cat]
                  8,0    1        6     1.250000000  4200  Q  FN 0 + 0 [sync]
                CPU0 (8,0):
                 Reads Queued:           1,        8KiB\t Writes Queued:           1,        4KiB
                """);
        assertThat(TraceFormat.detect(f)).isEqualTo(TraceFormat.BLKPARSE);
        BlockTrace t = TraceFormat.read(f);
        assertThat(t.requests()).isEqualTo(2);
        assertThat(t.size()).isEqualTo(1 + 2);
        assertThat(t.key(0)).isEqualTo(3_417_048L * 512 / 4096);
        assertThat(BlockTrace.isWrite(t.word(0))).isTrue();
        assertThat(new long[] {t.key(1), t.key(2)}).containsExactly(2, 3); // sector 16 = byte 8192, 8 KiB
        assertThat(t.timeUs(1)).isEqualTo(1_250_000);
    }

    @Test
    void fioIologVersions2And3() throws IOException {
        Path v2 = write("v2.log", """
                fio version 2 iolog
                /dev/nbd0 add
                /dev/nbd0 open
                /dev/nbd0 write 4096 8192
                /dev/nbd0 read 0 4096
                /dev/nbd0 sync 0 0
                /dev/nbd1 read 0 4096
                /dev/nbd0 close
                """);
        assertThat(TraceFormat.detect(v2)).isEqualTo(TraceFormat.FIO);
        BlockTrace t2 = TraceFormat.read(v2);
        assertThat(t2.size()).isEqualTo(4);
        assertThat(t2.timed()).isFalse();
        assertThat(t2.distinctBlocks()).isEqualTo(4);
        Path v3 = write("v3.log", """
                fio version 3 iolog
                0 /dev/nbd0 add
                5 /dev/nbd0 read 0 4096
                17 /dev/nbd0 write 0 4096
                """);
        BlockTrace t3 = TraceFormat.read(v3);
        assertThat(t3.size()).isEqualTo(2);
        assertThat(t3.timeUs(1)).isEqualTo(12_000);
        assertThat(BlockTrace.isWrite(t3.word(1))).isTrue();
    }

    @Test
    void malformedLinesNameTheFileAndLine() throws IOException {
        Path f = write("bad.csv", """
                version,time,op,size,lbn
                1,5633898,2a,512,42932745
                1,5633899,28,lots,7
                """);
        assertThatThrownBy(() -> TraceFormat.CSV.read(f, Integer.MAX_VALUE)).isInstanceOf(MalformedTraceException.class)
                .hasMessageContaining("bad.csv:3");
        Path notFio = write("x.log", "fio version 9 iolog\n");
        assertThatThrownBy(() -> TraceFormat.FIO.read(notFio, 100)).hasMessageContaining("x.log:1");
        Path partial = dir.resolve("p.vscsi");
        Files.write(partial, java.util.Arrays.copyOf(Files.readAllBytes(SampleTrace.path()), 32 * 3 + 5));
        assertThatThrownBy(() -> TraceFormat.VSCSI.read(partial, Integer.MAX_VALUE)).hasMessageContaining("partial");
        Path unknown = write("u.txt", "hello world\n");
        assertThatThrownBy(() -> TraceFormat.detect(unknown)).hasMessageContaining("--format");
    }

    @Test
    void aLimitStopsReadingEarly() throws IOException {
        assertThat(TraceFormat.VSCSI.read(SampleTrace.path(), 1000).size()).isEqualTo(1000);
    }

    private Path write(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }
}
