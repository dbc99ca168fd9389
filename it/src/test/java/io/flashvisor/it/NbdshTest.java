package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * libnbd through nbdsh (Python): trim, write zeroes with and without NO_HOLE, FAST_ZERO (or its
 * refusal), block status on base:allocation, FUA writes, flush, out-of-range requests, a second
 * connection, and a read-only export refusing writes with EPERM. The checks are in
 * {@code src/test/resources/nbdsh/commands.py}.
 */
@Timeout(180)
class NbdshTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final int MiB = 1 << 20;

    static String script(String name) throws IOException {
        try (InputStream in = NbdshTest.class.getResourceAsStream("/nbdsh/" + name)) {
            assertThat(in).as("resource nbdsh/" + name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void commandsFlagsAndErrors() throws Exception {
        Path rw = kit.file("rw.img");
        Tools.sparseFile(rw, 16 * MiB);
        Path ro = kit.file("ro.img");
        Tools.filledFile(ro, 4 * MiB, 0x3c);
        FlashvisorProcess rwServer = kit.serve(rw.toString(), "--socket", kit.file("rw.sock").toString());
        FlashvisorProcess roServer = kit.serve(ro.toString(), "--socket", kit.file("ro.sock").toString(), "--read-only");

        Tools.Result r = Tools.nbdsh(script("commands.py"), Map.of("URI", rwServer.uri(), "RO_URI", roServer.uri())).ok();
        assertThat(r.stdout()).contains("ALL OK");

        // The FUA write and the rest are in the backing file; the read-only file is untouched.
        assertThat(Tools.readRange(rw, 2 * MiB, 64 * 1024)).containsOnly((byte) 0x5f);
        assertThat(Tools.readRange(rw, 0, MiB)).containsOnly((byte) 0xab);
        assertThat(Tools.readRange(rw, 8 * MiB, MiB)).containsOnly((byte) 0);
        assertThat(Tools.readRange(rw, 12 * MiB, 128 * 1024)).containsOnly((byte) 0x42);
        assertThat(Tools.readRange(ro, 0, 4 * MiB)).containsOnly((byte) 0x3c);
        assertThat(rwServer.isAlive()).isTrue();
        assertThat(roServer.isAlive()).isTrue();
    }

    /** The same script against an NBD backing store (nbdkit memory), which supports TRIM and fast zeroes. */
    @Test
    void commandsOverAnNbdBackingStore() throws Exception {
        Nbdkit san = kit.nbdkit("memory", "size=16M");
        FlashvisorProcess rwServer = kit.serve(san.uri(), "--socket", kit.file("rw.sock").toString(), "--name", "san");
        Path ro = kit.file("ro.img");
        Tools.filledFile(ro, 4 * MiB, 0x3c);
        FlashvisorProcess roServer = kit.serve(ro.toString(), "--socket", kit.file("ro.sock").toString(), "--read-only");

        Tools.Result r = Tools.nbdsh(script("commands.py"), Map.of("URI", rwServer.uri(), "RO_URI", roServer.uri(), "STRICT_NO_HOLE", "0"))
                .ok();
        assertThat(r.stdout()).contains("ALL OK").contains("ok: trim");
        // What the script left, seen directly in nbdkit.
        QemuIoTest.io(san.uri(), "read -P 0xab 0 1M", "read -P 0x5f 2M 64k", "read -P 0 8M 1M", "read -P 0x42 12M 128k");
    }
}
