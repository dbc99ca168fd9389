package io.flashvisor.cache.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flashvisor.common.VolumeException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The log on a real file, buffered and with {@code O_DIRECT} (skipped where the file system
 * refuses it). Files live under {@code target/}, not {@code /tmp}, which may be tmpfs.
 */
class FileFlashChannelTest {
    private Path file;

    @BeforeEach
    void createFile() throws IOException {
        Files.createDirectories(Path.of("target"));
        file = Path.of("target", "flash-test-" + UUID.randomUUID() + ".img");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(TestData.deviceSize(6));
        }
    }

    @AfterEach
    void deleteFile() throws IOException {
        Files.deleteIfExists(file);
    }

    static FileFlashChannel openDirect(Path file) throws IOException {
        try {
            return FileFlashChannel.open(file, true);
        } catch (IOException e) {
            assumeTrue(false, "O_DIRECT is not available here: " + e.getMessage());
            throw e;
        }
    }

    @Test
    void theLogWorksWithDirectIo() throws Exception {
        roundTrip(openDirect(file), () -> openDirect(file));
    }

    @Test
    void theLogWorksBuffered() throws Exception {
        roundTrip(FileFlashChannel.open(file, false), () -> FileFlashChannel.open(file, false));
    }

    interface Opener {
        FileFlashChannel open() throws IOException;
    }

    private static void roundTrip(FileFlashChannel channel, Opener again) throws Exception {
        AppendResult r;
        try (FlashLog log = FlashLog.format(channel, TestData.smallConfig())) {
            // Heap, direct-unaligned and sliced buffers: the channel bounces what O_DIRECT cannot take.
            ByteBuffer unaligned = ByteBuffer.allocateDirect(3 * FlashLayout.BLOCK_SIZE + 1).position(1).slice();
            unaligned.put(TestData.blocks(2, 3)).flip();
            r = log.append(List.of(Record.data(1, 8, TestData.blocks(1, 2), true), Record.data(1, 16, unaligned, false),
                    Record.clean(1, 8, 2, 1)));
            ByteBuffer heap = ByteBuffer.allocate(2 * FlashLayout.BLOCK_SIZE);
            log.read(r.deviceBlock(0), heap);
            assertThat(heap.flip()).isEqualTo(TestData.blocks(1, 2));
            ByteBuffer aligned = Buffers.alignedDirect(3 * FlashLayout.BLOCK_SIZE);
            log.readRecord(r.deviceBlock(1), 3, Record.data(1, 16, TestData.blocks(2, 3), false).dataCrc(), aligned);
            assertThat(aligned.flip()).isEqualTo(TestData.blocks(2, 3));
        }
        CollectingListener l = new CollectingListener();
        try (FlashLog log = FlashLog.open(again.open(), TestData.smallConfig(), l)) {
            assertThat(l.records).hasSize(3);
            assertThat(l.records.get(1).deviceBlock()).isEqualTo(r.deviceBlock(1));
            assertThat(log.recovery().bytesRead()).isGreaterThanOrEqualTo(TestData.SEGMENT);
        }
    }

    @Test
    void anInterruptedReaderDoesNotCloseTheDeviceForEveryoneElse() throws Exception {
        try (FlashLog log = FlashLog.format(FileFlashChannel.open(file, false), TestData.smallConfig())) {
            AppendResult r = log.append(List.of(Record.data(1, 8, TestData.blocks(1, 1), true)));
            Thread reader = new Thread(() -> {
                Thread.currentThread().interrupt();
                assertThatThrownBy(() -> log.read(r.deviceBlock(0), ByteBuffer.allocate(FlashLayout.BLOCK_SIZE)))
                        .isInstanceOf(VolumeException.class);
            });
            reader.start();
            reader.join();
            ByteBuffer back = ByteBuffer.allocate(FlashLayout.BLOCK_SIZE);
            log.read(r.deviceBlock(0), back);
            assertThat(back.flip()).isEqualTo(TestData.blocks(1, 1));
            assertThat(log.append(List.of(Record.invalidate(1, 8, 1))).firstSequence()).isEqualTo(2);
            assertThat(log.isFailed()).isFalse();
        }
    }

    @Test
    void openingAMissingFileSaysWhatToDo() {
        assertThatThrownBy(() -> FileFlashChannel.open(Path.of("target", "no-such-device.img"), false))
                .isInstanceOf(IOException.class).hasMessageContaining("does not exist");
    }
}
