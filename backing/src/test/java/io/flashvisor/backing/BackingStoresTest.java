package io.flashvisor.backing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.backing.file.FileBackingStore;
import io.flashvisor.backing.nbd.ReconnectingNbdStore;
import io.flashvisor.common.BlockError;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.VolumeException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BackingStoresTest {
    @TempDir
    Path dir;

    @Test
    void pathsAndFileUrisOpenFileStores() throws Exception {
        Path f = Files.write(dir.resolve("disk one.img"), new byte[8192]);
        for (String location : new String[] {f.toString(), f.toUri().toString(), "file://localhost" + f.toUri().getRawPath()}) {
            try (BlockVolume v = BackingStores.open(location, BackingOptions.defaults())) {
                assertThat(v).isInstanceOf(FileBackingStore.class);
                assertThat(v.size()).isEqualTo(8192);
            }
        }
        try (BlockVolume v = BackingStores.open(f.toString(), BackingOptions.defaults().withReadOnly(true))) {
            assertThat(v.features().readOnly()).isTrue();
        }
    }

    @Test
    void nbdUrisOpenNbdStores() throws Exception {
        Path socket = dir.resolve("s.sock");
        Process nbdkit;
        try {
            nbdkit = new ProcessBuilder("nbdkit", "-f", "--exit-with-parent", "-U", socket.toString(),
                    "-P", dir.resolve("pid").toString(), "memory", "size=1M")
                    .redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            org.junit.jupiter.api.Assumptions.abort("nbdkit is not installed");
            return;
        }
        try {
            while (!Files.exists(dir.resolve("pid")) || Files.size(dir.resolve("pid")) == 0) { // written once listening
                assertThat(nbdkit.isAlive()).isTrue();
                Thread.sleep(10);
            }
            BackingOptions options = BackingOptions.defaults().withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(30));
            try (BlockVolume v = BackingStores.open("nbd+unix:///?socket=" + socket, options)) {
                assertThat(v).isInstanceOf(ReconnectingNbdStore.class);
                assertThat(v.size()).isEqualTo(1 << 20);
                v.write(3, ByteBuffer.wrap(new byte[] {9, 8, 7}), true);
                ByteBuffer back = ByteBuffer.allocate(3);
                v.read(3, back);
                assertThat(back.array()).containsExactly(9, 8, 7);
            }
        } finally {
            nbdkit.destroy();
            nbdkit.waitFor();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "http://example.com/disk", "iscsi://target/lun", "rbd:pool/image"})
    void unsupportedLocationsListTheSupportedForms(String location) {
        assertThatThrownBy(() -> BackingStores.open(location, BackingOptions.defaults()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(BackingStores.SUPPORTED_FORMS);
    }

    @Test
    void badNbdAndFileUrisSayWhatIsWrong() {
        assertThatThrownBy(() -> BackingStores.open("nbds://host/x", BackingOptions.defaults()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("TLS");
        assertThatThrownBy(() -> BackingStores.open("nbd+unix:///x", BackingOptions.defaults()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("socket");
        assertThatThrownBy(() -> BackingStores.open("file://server/share/disk", BackingOptions.defaults()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("names host 'server'");
    }

    @Test
    void missingFileIsAVolumeExceptionNamingIt() {
        assertThatThrownBy(() -> BackingStores.open(dir.resolve("nope.img").toString(), BackingOptions.defaults()))
                .isInstanceOfSatisfying(VolumeException.class, v -> assertThat(v.error()).isEqualTo(BlockError.INVALID))
                .hasMessageContaining("nope.img does not exist");
    }

    @Test
    void optionsAreValidated() {
        assertThatThrownBy(() -> BackingOptions.defaults().withTimeouts(Duration.ZERO, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("connectTimeout");
        assertThatThrownBy(() -> BackingOptions.defaults().withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ioTimeout");
    }
}
