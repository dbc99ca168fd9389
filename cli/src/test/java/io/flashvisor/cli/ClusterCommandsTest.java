package io.flashvisor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flashvisor.node.ConfigLoader;
import io.flashvisor.node.Node;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code flashvisor hosts} and {@code flashvisor volumes} against a one-host cluster with an embedded ZooKeeper. */
class ClusterCommandsTest {
    @TempDir
    Path dir;

    @Test
    void hostsAndVolumesPrintTablesOrJson() throws Exception {
        Files.writeString(dir.resolve("secret"), Base64.getEncoder().encodeToString(new byte[32]));
        Files.setPosixFilePermissions(dir.resolve("secret"), PosixFilePermissions.fromString("rw-------"));
        for (String img : List.of("vm1.img", "vm2.img")) {
            try (RandomAccessFile f = new RandomAccessFile(dir.resolve(img).toFile(), "rw")) {
                f.setLength(16 << 20);
            }
        }
        try (Node node = Node.start(ConfigLoader.parse("""
                listeners: [{unix: nbd.sock}]
                control: control.sock
                flash: {device: flash.img, size: 64M}
                cluster:
                  name: demo
                  host-id: hv1
                  embedded-zookeeper: {dir: zk}
                  session-timeout: 2s
                  peer-listen: 127.0.0.1:0
                  secret-file: secret
                  fault-domain: rack-1
                volumes:
                  - {name: vm1, backing: vm1.img, policy: write-back, replicas: 1}
                  - {name: vm2, backing: vm2.img, policy: write-through}
                """, "node.yaml", dir))) {
            String control = dir.resolve("control.sock").toString();
            int port = node.membership().replicationAddress().getPort();
            String session = "0x" + Long.toHexString(node.cluster().lease().sessionId());

            Result hosts = run("hosts", "--control", control);
            assertThat(hosts.code).isZero();
            assertThat(hosts.out.lines().toList()).containsExactly(
                    "cluster demo, seen from host hv1 (session CONNECTED)",
                    "HOST                 PEER ADDRESS             FAULT DOMAIN        FLASH       FREE  SESSION",
                    String.format("%-20s %-24s %-14s %10s %10s  %s", "hv1", "127.0.0.1:" + port, "rack-1", "28M", "28M", session));

            Result volumes = run("volumes", "--control", control);
            assertThat(volumes.code).isZero();
            assertThat(volumes.out.lines().toList()).containsExactly(
                    "cluster demo, seen from host hv1 (session CONNECTED)",
                    "VOLUME               POLICY        REPLICAS OWNER                     EPOCH STATE     REPLICA SET",
                    "vm1                  write-back           1 hv1                           1 DEGRADED  -",
                    "vm2                  write-through        0 -                             0 CLEAN     -");

            Result json = run("volumes", "--control", control, "--json");
            assertThat(json.code).isZero();
            JsonNode root = new ObjectMapper().readTree(json.out);
            assertThat(root.get("volumes")).hasSize(2);
            assertThat(root.get("volumes").get(0).get("replicas").asInt()).isEqualTo(1);
            assertThat(new ObjectMapper().readTree(run("hosts", "--control", control, "--json").out).get("hosts").get(0)
                    .get("hostId").asText()).isEqualTo("hv1");
        }
    }

    @Test
    void aNodeWithoutAClusterSaysSo() throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("vm1.img").toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        try (Node node = Node.start(ConfigLoader.parse("""
                listeners: [{unix: nbd.sock}]
                control: control.sock
                volumes: [{name: vm1, backing: vm1.img}]
                """, "node.yaml", dir))) {
            for (String command : List.of("hosts", "volumes")) {
                Result r = run(command, "--control", dir.resolve("control.sock").toString());
                assertThat(r.code).isEqualTo(Main.EXIT_FAILURE);
                assertThat(r.out).isEmpty();
                assertThat(r.err).isEqualTo("flashvisor: this node is not in a cluster (its config has no 'cluster:' section)\n");
            }
        }
    }

    private record Result(int code, String out, String err) {
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        return new Result(code, out.toString(), err.toString());
    }
}
