package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code flashvisor serve} start-up errors and socket handling, as an operator meets them. */
@Timeout(180)
class ServeCliTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    @Test
    void missingBackingStoresFailClearly() {
        Path missing = kit.file("missing.img");
        FlashvisorProcess p = kit.flashvisor("serve missing file", "serve", missing.toString(), "--socket", kit.file("a.sock").toString());
        assertThat(p.awaitExit(Duration.ofSeconds(60))).as(p.output()).isNotZero();
        assertThat(p.stderr()).contains(missing.toString()).contains("does not exist");
        assertThat(p.stdout()).doesNotContain("ready ");

        Path noServer = kit.file("nobody.sock");
        FlashvisorProcess q = kit.flashvisor("serve unreachable NBD", "serve", "nbd+unix:///?socket=" + noServer, "--socket",
                kit.file("b.sock").toString());
        assertThat(q.awaitExit(Duration.ofSeconds(60))).as(q.output()).isNotZero();
        assertThat(q.stderr()).contains(noServer.toString());
        assertThat(q.stdout()).doesNotContain("ready ");
    }

    @Test
    void aStaleSocketIsReplacedButALiveOneIsNotStolen() throws Exception {
        Path img = kit.file("d.img");
        Tools.sparseFile(img, 1 << 20);

        // A socket file nobody listens on any more (a crashed server's): replaced.
        Path stale = kit.file("stale.sock");
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(stale));
        }
        FlashvisorProcess first = kit.serve(img.toString(), "--socket", stale.toString());
        assertThat(Tools.run(Tools.SHORT, "nbdinfo", "--size", first.uri()).ok().stdout().trim()).isEqualTo(String.valueOf(1 << 20));

        // A socket a live server listens on: the second server refuses and the first keeps serving.
        FlashvisorProcess second = kit.flashvisor("second serve on the same socket", "serve", img.toString(), "--socket", stale.toString());
        assertThat(second.awaitExit(Duration.ofSeconds(60))).as(second.output()).isNotZero();
        assertThat(second.stderr()).contains(stale.toString());
        assertThat(second.stdout()).doesNotContain("ready ");
        assertThat(Tools.run(Tools.SHORT, "nbdinfo", "--size", first.uri()).ok().stdout().trim()).isEqualTo(String.valueOf(1 << 20));
        assertThat(first.stop(Duration.ofSeconds(40))).isZero();
    }
}
