package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The test kit's supervised SAN ({@link TestKit#slowSan}): when nbdkit aborts on its own — as
 * nbdkit 1.32 does when a killed node's connection is cut mid-request — it is started again on the
 * same socket, with the same data; an nbdkit the kit was not told to supervise stays dead.
 */
@Timeout(60)
class NbdkitSupervisionTest {
    private static final long MiB = 1 << 20;

    @RegisterExtension
    final TestKit kit = new TestKit();

    @Test
    void aSupervisedSanThatAbortsComesBackWithItsData() throws Exception {
        Path image = kit.file("san.img");
        Tools.sparseFile(image, 16 * MiB);
        Nbdkit san = kit.slowSan(image, "wdelay=1ms");
        QemuIoTest.io(san.uri(), "write -P 0x5a 1M 64k");
        long before = san.process().pid();

        Tools.run(Duration.ofSeconds(10), "kill", "-ABRT", Long.toString(before)).ok();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (san.restarts() == 0 || !san.process().isAlive()) {
            assertThat(System.nanoTime()).as("restarted within 30 s\n" + san.output()).isLessThan(deadline);
            Thread.sleep(20);
        }
        assertThat(san.process().pid()).isNotEqualTo(before);
        assertThat(san.output()).contains("exited with 134 on its own; starting it again");
        QemuIoTest.io(san.uri(), "read -P 0x5a 1M 64k");
    }

    @Test
    void anUnsupervisedNbdkitStaysDead() throws Exception {
        Nbdkit san = kit.nbdkit("memory", "size=16M"); // its data would not survive a restart
        Tools.run(Duration.ofSeconds(10), "kill", "-ABRT", Long.toString(san.process().pid())).ok();
        san.process().waitFor();
        Thread.sleep(500);
        assertThat(san.restarts()).isZero();
        assertThat(san.process().isAlive()).isFalse();
    }
}
