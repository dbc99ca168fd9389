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
    void aListenersTlsKeyReadableByOthersIsRefused() throws Exception {
        Files.writeString(dir.resolve("cert.pem"), "x");
        Files.writeString(dir.resolve("key.pem"), "x");
        Files.setPosixFilePermissions(dir.resolve("key.pem"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> ConfigLoader.parse("""
                listeners:
                  - tcp: 127.0.0.1:10809
                    tls: {certificate: cert.pem, key: key.pem}
                volumes:
                  - {name: vm1, backing: vm1.img}
                """, "node.yaml", dir))
                .hasMessageContaining("listeners[0].tls.key")
                .hasMessageContaining("chmod 600");
    }

    @Test
    void fullConfigIsParsedAndRelativePathsResolveAgainstTheConfigDirectory() throws Exception {
        Files.writeString(dir.resolve("cert.pem"), "x");
        Files.writeString(dir.resolve("key.pem"), "x");
        Files.setPosixFilePermissions(dir.resolve("key.pem"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
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

    @Test
    void withoutAClusterSectionTheNodeIsASingleHost() throws Exception {
        NodeSettings s = ConfigLoader.parse("""
                listeners: [{unix: x.sock}]
                flash: {device: flash.img, size: 1G}
                volumes: [{name: a, backing: /a.img, policy: write-back, replicas: 0}]
                """, "single.yaml", dir);
        assertThat(s.cluster()).isNull();
    }

    @Test
    void clusterSectionIsValidatedAndResolved() throws Exception {
        Path secret = dir.resolve("secret");
        NodeClusterTest.writeSecret(secret);
        NodeSettings s = ConfigLoader.parse("""
                listeners: [{unix: x.sock}]
                flash: {device: flash.img, size: 1G}
                cluster:
                  name: prod
                  host-id: hv1
                  zookeeper: zk1:2181,zk2:2181,[::1]:2181/chroot
                  session-timeout: 4s
                  peer-listen: 0.0.0.0:7400
                  peer-address: 10.0.0.1:7400
                  secret-file: secret
                  fault-domain: rack-3
                volumes:
                  - {name: vm1, backing: /a.img, policy: write-back, replicas: 2}
                  - {name: vm2, backing: /b.img, policy: write-through}
                """, "cluster.yaml", dir);
        ClusterSpec c = s.cluster();
        assertThat(c.name()).isEqualTo("prod");
        assertThat(c.hostId()).isEqualTo("hv1");
        assertThat(c.zookeeper()).isEqualTo("zk1:2181,zk2:2181,[::1]:2181/chroot");
        assertThat(c.embeddedZooKeeper()).isNull();
        assertThat(c.sessionTimeout()).isEqualTo(Duration.ofSeconds(4));
        assertThat(c.peerListen()).isEqualTo(new HostPort("0.0.0.0", 7400));
        assertThat(c.peerAddress()).isEqualTo(new HostPort("10.0.0.1", 7400));
        assertThat(c.secretFile()).isEqualTo(secret);
        assertThat(c.secret()).isNotNull().hasToString("ClusterSecret[hidden]");
        assertThat(c.faultDomain()).isEqualTo("rack-3");
        assertThat(c.replicas("vm1")).isEqualTo(2);
        assertThat(c.replicas("vm2")).isZero();
        assertThat(c.peerId()).isEqualTo(ClusterSpec.peerId("hv1")).isNotZero();

        // Defaults: host id = the host name, session timeout 6s, fault domain "default", peer address = the listen address.
        NodeSettings d = ConfigLoader.parse("""
                listeners: [{unix: x.sock}]
                flash: {device: flash.img, size: 1G}
                cluster: {name: demo, embedded-zookeeper: {dir: zk}, peer-listen: "127.0.0.1:0", secret-file: secret}
                volumes: [{name: vm1, backing: /a.img}]
                """, "demo.yaml", dir);
        assertThat(d.cluster().hostId()).isEqualTo(java.net.InetAddress.getLocalHost().getHostName());
        assertThat(d.cluster().embeddedZooKeeper()).isEqualTo(new ClusterSpec.EmbeddedZooKeeperSpec(dir.resolve("zk"), 0));
        assertThat(d.cluster().zookeeper()).isNull();
        assertThat(d.cluster().sessionTimeout()).isEqualTo(Duration.ofSeconds(6));
        assertThat(d.cluster().faultDomain()).isEqualTo("default");
        assertThat(d.cluster().peerAddress()).isNull();
    }

    @Test
    void everyClusterProblemIsNamed() throws Exception {
        Path loose = dir.resolve("loose-secret");
        NodeClusterTest.writeSecret(loose);
        Files.setPosixFilePermissions(loose, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
        assertThatThrownBy(() -> ConfigLoader.parse("""
                listeners: [{unix: x.sock}]
                cluster:
                  name: "my cluster"
                  host-id: "hv/1"
                  zookeeper: zk1:2181
                  embedded-zookeeper: {dir: zk}
                  session-timeout: 10m
                  peer-listen: 0.0.0.0:7400
                  secret-file: loose-secret
                  fault-domain: " "
                volumes:
                  - {name: "vm 1", backing: /a.img}
                  - {name: vm2, backing: /b.img, policy: write-through, replicas: 1}
                  - {name: vm3, backing: /c.img, replicas: 3}
                """, "bad.yaml", dir))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems()).containsExactly(
                        "volumes[1].policy: 'write-through' needs a flash device; add 'flash: {device: /var/lib/flashvisor/flash.img, size: 100G}'",
                        "cluster: a cluster node needs a flash device (it keeps its peers' replicas there); add 'flash: "
                                + "{device: /var/lib/flashvisor/flash.img, size: 100G}'",
                        "volumes[0].name: 'vm 1' cannot name a volume in a cluster: use 1-128 letters, digits, '.', '_' or '-'",
                        "volumes[1].replicas: replicas apply to write-back only; set 'policy: write-back' or remove 'replicas'",
                        "volumes[2].replicas: 3 is not 0, 1 or 2 (peers that hold each write-back write)",
                        "cluster.name: 'my cluster' must be 1-128 letters, digits, '.', '_' or '-'",
                        "cluster.host-id: 'hv/1' must be 1-128 letters, digits, '.', '_' or '-'",
                        "cluster: give exactly one of 'zookeeper: HOST:PORT[,HOST:PORT...]' (the ensemble) or, for a demo or a test, "
                                + "'embedded-zookeeper: {dir: PATH}'",
                        "cluster.session-timeout: must lie between 500ms and 5m (6s is usual)",
                        "cluster.peer-address: missing; peer-listen 0.0.0.0:7400 is a wildcard address, so give the address other "
                                + "hosts dial, e.g. 10.0.0.1:7400",
                        "cluster.secret-file: '" + loose + "' is accessible to group or others (rw-r-----); anyone who reads the "
                                + "secret can write into this host's flash: run 'chmod 600 " + loose + "'",
                        "cluster.fault-domain: empty; a label such as the rack, e.g. 'rack-3'"));
    }

    @Test
    void clusterNeedsAnEnsembleAListenerAndAGoodSecret() throws Exception {
        Files.writeString(dir.resolve("short"), "c2hvcnQ=\n"); // "short": 5 bytes
        Files.setPosixFilePermissions(dir.resolve("short"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        assertThatThrownBy(() -> ConfigLoader.parse("""
                listeners: [{unix: x.sock}]
                flash: {device: flash.img, size: 1G}
                cluster: {host-id: hv1, zookeeper: "zk1,zk2:0", secret-file: short}
                volumes: [{name: vm1, backing: /a.img}]
                """, "bad.yaml", dir))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems()).containsExactly(
                        "cluster.name: missing; the cluster's name, e.g. 'prod' (every host of one cluster uses the same name)",
                        "cluster.zookeeper: 'zk1' is not HOST:PORT; write e.g. 127.0.0.1:10809 or [::1]:10809 (port 0 = any free port)",
                        "cluster.zookeeper: 'zk2:0' needs the server's port, e.g. 2181",
                        "cluster.peer-listen: missing; HOST:PORT of the replication server, e.g. 10.0.0.1:7400 (port 0 = any free port)",
                        "cluster.secret-file: '" + dir.resolve("short") + "': the cluster secret has 5 bytes; it needs at least 16 "
                                + "(generate one with: head -c32 /dev/urandom | base64)"));
        assertThatThrownBy(() -> ConfigLoader.parse("""
                listeners: [{unix: x.sock}]
                flash: {device: flash.img, size: 1G}
                cluster: {name: c, embedded-zookeeper: {port: 70000}, peer-listen: "127.0.0.1:0", secret-file: nowhere}
                volumes: [{name: vm1, backing: /a.img}]
                """, "bad.yaml", dir))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems()).containsExactly(
                        "cluster.embedded-zookeeper.dir: missing; a directory for the embedded ZooKeeper's data, e.g. "
                                + "/var/lib/flashvisor/zookeeper",
                        "cluster.embedded-zookeeper.port: 70000 is not a TCP port (0 = any free port)",
                        "cluster.secret-file: '" + dir.resolve("nowhere") + "' is not a readable file"));
        assertThatThrownBy(() -> ConfigLoader.parse("""
                listeners: [{unix: x.sock}]
                flash: {device: flash.img, size: 1G}
                cluster: {name: c, zookeeper: "zk:2181", peer-listen: "127.0.0.1:0", secret-file: short, sesion-timeout: 6s}
                volumes: [{name: vm1, backing: /a.img}]
                """, "typo.yaml", dir))
                .hasMessageContaining("cluster.sesion-timeout")
                .hasMessageContaining("unknown field 'sesion-timeout'")
                .hasMessageContaining("session-timeout");
        assertThatThrownBy(() -> ConfigLoader.parse("""
                listeners: [{unix: x.sock}]
                flash: {device: flash.img, size: 1G}
                volumes: [{name: vm1, backing: /a.img, policy: write-back, replicas: 1}]
                """, "noclust.yaml", dir))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems()).containsExactly(
                        "volumes[0].replicas: 1 needs peers to replicate to; add a 'cluster:' section or use replicas: 0"));
    }
}
