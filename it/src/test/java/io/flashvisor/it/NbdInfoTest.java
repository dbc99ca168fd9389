package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What {@code nbdinfo} sees of {@code flashvisor serve} and {@code flashvisor node}: names, sizes, descriptions, flags, block sizes. */
@Timeout(180)
class NbdInfoTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    private static final long MiB = 1 << 20;

    @Test
    void serveDescribesItsExport() throws Exception {
        Path img = kit.file("disk1.img");
        Tools.sparseFile(img, 10 * MiB);
        Path sock = kit.file("serve.sock");
        FlashvisorProcess fv = kit.serve(img.toString(), "--socket", sock.toString(), "--description", "VM 1 boot disk");

        // Default export name: the file's base name without extension.
        assertThat(fv.uri()).isEqualTo("nbd+unix:///disk1?socket=" + sock);

        JsonNode info = Tools.nbdinfoJson(fv.uri());
        assertThat(info.path("protocol").asText()).isEqualTo("newstyle-fixed");
        assertThat(info.path("TLS").asBoolean()).isFalse();
        assertThat(info.path("structured").asBoolean()).as("structured replies").isTrue();
        JsonNode e = single(info);
        assertThat(e.path("export-name").asText()).isEqualTo("disk1");
        assertThat(e.path("description").asText()).isEqualTo("VM 1 boot disk");
        assertThat(e.path("export-size").asLong()).isEqualTo(10 * MiB);
        assertThat(e.path("is_read_only").asBoolean()).isFalse();
        assertThat(e.path("can_flush").asBoolean()).isTrue();
        assertThat(e.path("can_fua").asBoolean()).isTrue();
        // can_trim is not asserted: the file backing store ignores TRIM and does not advertise it (by design).
        assertThat(e.path("can_zero").asBoolean()).isTrue();
        assertThat(e.path("can_multi_conn").asBoolean()).as("a pass-through file export is consistent across connections").isTrue();
        assertThat(stringList(e.path("contexts"))).contains("base:allocation");
        assertBlockSizes(e);

        // --list: one export, same facts.
        JsonNode list = Tools.nbdinfoList(fv.uri());
        JsonNode le = single(list);
        assertThat(le.path("export-name").asText()).isEqualTo("disk1");
        assertThat(le.path("description").asText()).isEqualTo("VM 1 boot disk");
        assertThat(le.path("export-size").asLong()).isEqualTo(10 * MiB);

        // The empty name is the default export, which is the only one.
        JsonNode byDefault = single(Tools.nbdinfoJson("nbd+unix:///?socket=" + sock));
        assertThat(byDefault.path("export-size").asLong()).isEqualTo(10 * MiB);

        // An unknown name is refused.
        Tools.run(Tools.SHORT, "nbdinfo", "--json", "nbd+unix:///nope?socket=" + sock).failed();

        assertThat(Tools.run(Tools.SHORT, "nbdinfo", "--size", fv.uri()).ok().stdout().trim()).isEqualTo(String.valueOf(10 * MiB));
        assertThat(fv.isAlive()).isTrue();
    }

    @Test
    void serveReadOnlyWithNameAndOddSize() throws Exception {
        Path img = kit.file("odd.raw");
        long size = 3 * MiB + 512;
        Tools.filledFile(img, size, 0x11);
        Path sock = kit.file("ro.sock");
        FlashvisorProcess fv = kit.serve(img.toString(), "--socket", sock.toString(), "--name", "golden", "--read-only");
        assertThat(fv.uri()).isEqualTo("nbd+unix:///golden?socket=" + sock);

        JsonNode e = single(Tools.nbdinfoJson(fv.uri()));
        assertThat(e.path("export-name").asText()).isEqualTo("golden");
        assertThat(e.path("export-size").asLong()).isEqualTo(size);
        assertThat(e.path("is_read_only").asBoolean()).isTrue();
        assertThat(e.path("can_trim").asBoolean()).as("no trim on a read-only export").isFalse();
        assertThat(e.path("can_zero").asBoolean()).as("no write zeroes on a read-only export").isFalse();
        assertThat(Tools.run(Tools.SHORT, "nbdinfo", "--is", "read-only", fv.uri()).exitCode()).isZero();
        assertBlockSizes(e);

        // The socket file gets the default mode 0600.
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sock))).isEqualTo("rw-------");
    }

    @Test
    void nodeListsAllVolumesOnEveryListener() throws Exception {
        Path vm1 = kit.file("vm1.img");
        Path vm2 = kit.file("vm2.img");
        Tools.sparseFile(vm1, 16 * MiB);
        Tools.sparseFile(vm2, 8 * MiB + 4096);
        Path sock = kit.file("node.sock");
        String yaml = """
                listeners:
                  - unix: %s
                    mode: "0660"
                  - tcp: 127.0.0.1:0
                    insecure: true
                volumes:
                  - name: vm1
                    backing: %s
                    policy: pass-through
                    read-only: false
                    description: "VM 1 boot disk"
                  - name: vm2
                    backing: file://%s
                    policy: pass-through
                    read-only: true
                    description: "VM 2 data (read-only)"
                """.formatted(sock, vm1, vm2);
        FlashvisorProcess node = kit.node(yaml, 2);
        List<String> uris = node.awaitReady(2);
        String unixUri = uris.stream().filter(u -> u.startsWith("nbd+unix:")).findFirst().orElseThrow();
        String tcpUri = uris.stream().filter(u -> u.startsWith("nbd://")).findFirst().orElseThrow();
        assertThat(FlashvisorProcess.socketOf(unixUri)).isEqualTo(sock);
        assertThat(FlashvisorProcess.portOf(tcpUri)).isPositive();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(sock))).isEqualTo("rw-rw----");

        for (String uri : List.of(unixUri, tcpUri)) {
            JsonNode list = Tools.nbdinfoList(uri);
            JsonNode exports = list.path("exports");
            assertThat(exports.size()).as("exports listed on " + uri).isEqualTo(2);
            JsonNode e1 = byName(exports, "vm1");
            JsonNode e2 = byName(exports, "vm2");
            assertThat(e1.path("description").asText()).isEqualTo("VM 1 boot disk");
            assertThat(e1.path("export-size").asLong()).isEqualTo(16 * MiB);
            assertThat(e1.path("is_read_only").asBoolean()).isFalse();
            assertThat(e1.path("can_zero").asBoolean()).isTrue();
            assertThat(e2.path("can_zero").asBoolean()).isFalse();
            assertThat(e2.path("description").asText()).isEqualTo("VM 2 data (read-only)");
            assertThat(e2.path("export-size").asLong()).isEqualTo(8 * MiB + 4096);
            assertThat(e2.path("is_read_only").asBoolean()).isTrue();
            assertBlockSizes(e1);
            assertBlockSizes(e2);

            JsonNode one = single(Tools.nbdinfoJson(FlashvisorProcess.withExport(uri, "vm2")));
            assertThat(one.path("export-name").asText()).isEqualTo("vm2");
            assertThat(one.path("is_read_only").asBoolean()).isTrue();
        }
        // Two volumes: the empty (default) export name is ambiguous, so it must be refused.
        Tools.run(Tools.SHORT, "nbdinfo", "--json", FlashvisorProcess.withExport(unixUri, "")).failed();
        assertThat(node.isAlive()).isTrue();
    }

    @Test
    void nodeRejectsInvalidConfigurationWithExitCode2() throws Exception {
        Path vm1 = kit.file("vm1.img");
        Tools.sparseFile(vm1, MiB);
        record Bad(String yaml, String mustMention) {
        }
        List<Bad> cases = new ArrayList<>();
        cases.add(new Bad("""
                listeners:
                  - unix: %s
                volumes:
                  - name: vm1
                    backing: %s
                    policy: write-sideways
                """.formatted(kit.file("a.sock"), vm1), "policy"));
        cases.add(new Bad("""
                listeners:
                  - unix: %s
                volumes:
                  - name: vm1
                    policy: pass-through
                """.formatted(kit.file("b.sock")), "backing"));
        cases.add(new Bad("""
                listeners:
                  - tcp: 127.0.0.1:0
                volumes:
                  - name: vm1
                    backing: %s
                """.formatted(vm1), "insecure"));
        for (Bad bad : cases) {
            Path config = kit.file("bad-" + cases.indexOf(bad) + ".yaml");
            Files.writeString(config, bad.yaml());
            FlashvisorProcess p = kit.flashvisor("flashvisor node (invalid config)", "node", "--config", config.toString());
            int code = p.awaitExit(Duration.ofSeconds(60));
            assertThat(code).as("exit code for config:\n" + bad.yaml() + "\n" + p.output()).isEqualTo(2);
            assertThat(p.stderr() + p.stdout()).as("the message names the field to fix").contains(bad.mustMention());
            assertThat(p.stdout()).doesNotContain("ready ");
        }
    }

    static JsonNode single(JsonNode info) {
        JsonNode exports = info.path("exports");
        assertThat(exports.size()).as("exports in " + info).isEqualTo(1);
        return exports.get(0);
    }

    static JsonNode byName(JsonNode exports, String name) {
        for (JsonNode e : exports) {
            if (e.path("export-name").asText().equals(name)) {
                return e;
            }
        }
        throw new AssertionError("no export '" + name + "' in " + exports);
    }

    static List<String> stringList(JsonNode array) {
        List<String> l = new ArrayList<>();
        array.forEach(n -> l.add(n.asText()));
        return l;
    }

    /** The server answers NBD_INFO_BLOCK_SIZE sensibly (libnbd asks for it in NBD_OPT_GO). */
    static void assertBlockSizes(JsonNode e) {
        assertThat(e.has("block_size_minimum")).as("block sizes advertised: " + e).isTrue();
        long min = e.path("block_size_minimum").asLong();
        long pref = e.path("block_size_preferred").asLong();
        long max = e.path("block_size_maximum").asLong();
        assertThat(Long.bitCount(min)).as("minimum block size is a power of two").isEqualTo(1);
        assertThat(min).isBetween(1L, 65536L);
        assertThat(Long.bitCount(pref)).as("preferred block size is a power of two").isEqualTo(1);
        assertThat(pref).isBetween(Math.max(512L, min), 32L * MiB);
        assertThat(max).as("maximum payload").isGreaterThanOrEqualTo(Math.max(pref, MiB));
        assertThat(max % min).isZero();
    }
}
