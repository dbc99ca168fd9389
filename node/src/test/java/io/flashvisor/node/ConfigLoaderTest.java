package io.flashvisor.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.nbd.Listener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    @Test
    void fullConfigIsParsedAndRelativePathsResolveAgainstTheConfigDirectory() throws Exception {
        Files.writeString(dir.resolve("cert.pem"), "x");
        Files.writeString(dir.resolve("key.pem"), "x");
        NodeSettings s = ConfigLoader.parse("""
                listeners:
                  - unix: run/nbd.sock
                    mode: "0660"
                  - tcp: 127.0.0.1:10809
                    tls: {certificate: cert.pem, key: key.pem}
                  - tcp: "[::1]:0"
                    insecure: true
                volumes:
                  - name: vm1
                    backing: images/vm1.img
                    policy: pass-through
                    read-only: true
                    description: VM 1 boot disk
                  - name: vm2
                    backing: nbd+unix:///lun7?socket=/run/san.sock
                nbd:
                  max-payload: 8M
                  drain-timeout: 5s
                """, "test.yaml", dir);

        assertThat(s.listeners()).containsExactly(
                new Listener.Unix(dir.resolve("run/nbd.sock"), 0660),
                Listener.Tcp.secure("127.0.0.1", 10809, new io.flashvisor.nbd.TlsSettings(dir.resolve("cert.pem"), dir.resolve("key.pem"), null)),
                Listener.Tcp.insecure("::1", 0));
        assertThat(s.volumes()).containsExactly(
                new VolumeSpec("vm1", dir.resolve("images/vm1.img").toString(), Policy.PASS_THROUGH, true, false, "VM 1 boot disk"),
                new VolumeSpec("vm2", "nbd+unix:///lun7?socket=/run/san.sock", Policy.PASS_THROUGH, false, false, ""));
        assertThat(s.nbd().maxPayload()).isEqualTo(8 << 20);
        assertThat(s.nbd().drainTimeout()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void everyProblemIsReportedWithItsPlaceAndAFix() {
        assertThatThrownBy(() -> ConfigLoader.parse("""
                listeners:
                  - tcp: 0.0.0.0:10809
                  - unix: /x.sock
                    mode: "999"
                volumes:
                  - name: a
                    backing: /a.img
                    policy: write-sometimes
                  - name: a
                    backing: /b.img
                  - backing: /c.img
                nbd:
                  max-payload: 3K
                """, "bad.yaml", dir))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems()).containsExactly(
                        "listeners[0]: a tcp listener needs 'tls: {certificate, key}' or, to accept plaintext from anyone who can reach the port, an explicit 'insecure: true'",
                        "listeners[1].mode: '999' is not an octal permission; write e.g. \"0600\" or \"0660\" (quoted)",
                        "volumes[0].policy: unknown policy 'write-sometimes'; use one of pass-through, write-through, write-around, write-back",
                        "volumes[1].name: 'a' is used by another volume; names must be unique",
                        "volumes[2].name: missing; the name clients ask for, e.g. 'vm1-disk0'",
                        "nbd.max-payload: must be a power of two between 4K and 1G, e.g. 32M"))
                .hasMessageStartingWith("bad.yaml: 6 problems:");
    }

    @Test
    void unknownFieldNamesItsPlaceAndTheKnownFields() {
        assertThatThrownBy(() -> ConfigLoader.parse("""
                listeners: [{unix: /x.sock}]
                volumes:
                  - name: a
                    backing: /a.img
                    polcy: pass-through
                """, "typo.yaml", dir))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("volumes[0].polcy")
                .hasMessageContaining("unknown field 'polcy'")
                .hasMessageContaining("policy");
    }

    @Test
    void cachingPoliciesNeedAFlashDevice() {
        assertThatThrownBy(() -> ConfigLoader.parse("""
                listeners: [{unix: /x.sock}]
                volumes: [{name: a, backing: /a.img, policy: write-back}]
                """, "wb.yaml", dir))
                .hasMessageContaining("volumes[0].policy: 'write-back' needs a flash device; add 'flash: {device:");
    }

    @Test
    void flashSectionIsValidatedAndResolved() throws Exception {
        NodeSettings s = ConfigLoader.parse("""
                listeners: [{unix: x.sock}]
                control: ctl.sock
                flash: {device: flash.img, size: 1G, eviction: s3-fifo, sequential-cutoff: 8M, dirty-low: 5%, dirty-high: 40%}
                volumes: [{name: a, backing: /a.img, policy: write-back}]
                """, "ok.yaml", dir);
        assertThat(s.flash().device()).isEqualTo(dir.resolve("flash.img"));
        assertThat(s.flash().size()).isEqualTo(1L << 30);
        assertThat(s.flash().sequentialCutoff()).isEqualTo(8L << 20);
        assertThat(s.flash().destage().lowWatermark()).isEqualTo(0.05);
        assertThat(s.flash().destage().highWatermark()).isEqualTo(0.40);
        assertThat(s.control()).isEqualTo(dir.resolve("ctl.sock"));
        assertThat(s.volumes().getFirst().policy()).isEqualTo(Policy.WRITE_BACK);

        assertThatThrownBy(() -> ConfigLoader.parse("""
                listeners: [{unix: x.sock}]
                flash: {size: 1M, eviction: lifo, dirty-low: 60%, dirty-high: 120}
                volumes: [{name: a, backing: /a.img}]
                """, "bad.yaml", dir))
                .hasMessageContaining("flash.device: missing")
                .hasMessageContaining("flash.size: at least 64M")
                .hasMessageContaining("flash.eviction: 'lifo' is unknown")
                .hasMessageContaining("flash.dirty-high: '120' is not a percentage");
    }

    @Test
    void emptyAndMalformedFilesSayWhatIsWrong() {
        assertThatThrownBy(() -> ConfigLoader.parse("", "empty.yaml", dir)).hasMessageContaining("the file is empty");
        assertThatThrownBy(() -> ConfigLoader.parse("listeners: [", "broken.yaml", dir)).hasMessageStartingWith("broken.yaml: ");
        assertThatThrownBy(() -> ConfigLoader.parse("listeners: []\nvolumes: []\n", "none.yaml", dir))
                .hasMessageContaining("listeners: none given").hasMessageContaining("volumes: none given");
    }
}
