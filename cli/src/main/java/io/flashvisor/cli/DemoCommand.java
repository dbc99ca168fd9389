package io.flashvisor.cli;

import io.flashvisor.cache.policy.EvictionPolicies;
import io.flashvisor.cli.demo.ClusterDemo;
import io.flashvisor.common.ByteSize;
import io.flashvisor.destage.DestageSettings;
import io.flashvisor.nbd.Listener;
import io.flashvisor.nbd.NbdServer;
import io.flashvisor.node.FlashSpec;
import io.flashvisor.node.NodeSettings;
import io.flashvisor.node.Policy;
import io.flashvisor.node.VolumeSpec;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The cluster demo (1-2 minutes): a slow SAN (nbdkit --filter=delay, 2 ms per I/O), an embedded ZooKeeper and "
                + "three Flashvisor hosts on this machine; a VM disk in write-back with one replica. fio measures 4 KiB random I/O against "
                + "the SAN alone and through Flashvisor, side by side; then the disk's owner is killed (SIGKILL) with dirty data, its "
                + "replica holder takes over and destages it, and fio verifies on the SAN image that no acknowledged write was lost.",
            "Needs fio and nbdkit (Debian: apt-get install -y fio nbdkit libnbd-bin qemu-utils). Exit code 0: measured and nothing "
                + "lost; 1: a failure (printed); 2: missing programs or bad options; 130: Ctrl-C.",
            "",
            "With --single: start one node that serves a sparse demo disk on a Unix socket and print how to attach nbdinfo, qemu-img, "
                + "QEMU and fio to it; Ctrl-C stops it.",
            ""})
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--single", description = "Run one node serving a sparse disk, with attach commands printed, instead of the cluster demo.")
    boolean single;

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "demo-data",
            description = "Where the demo's files go (default: ${DEFAULT-VALUE}); the cluster demo makes a new cluster-TIMESTAMP directory in it.")
    Path dir;

    @Option(names = "--seconds", paramLabel = "N", defaultValue = "10", description = "Cluster demo: measured seconds per fio run (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--crash-seconds", paramLabel = "N", defaultValue = "4",
            description = "Cluster demo: seconds fio writes before the owner is killed (default: ${DEFAULT-VALUE}).")
    int crashSeconds;

    @Option(names = "--san-size", paramLabel = "SIZE", defaultValue = "256M", description = "Cluster demo: size of the sparse SAN image (default: ${DEFAULT-VALUE}).")
    String sanSize;

    @Option(names = "--flash-size", paramLabel = "SIZE", defaultValue = "512M", description = "Cluster demo: size of each host's flash file (default: ${DEFAULT-VALUE}).")
    String flashSize;

    @Option(names = "--flash-dir", paramLabel = "DIR",
            description = "Cluster demo: where the hosts' flash files go, e.g. a directory on an SSD (default: /dev/shm when it has room "
                    + "- RAM standing in for NVMe flash - else the run directory).")
    Path flashDir;

    @Option(names = "--delay", paramLabel = "TIME", defaultValue = "2ms", description = "Cluster demo: the SAN's latency per read and write (default: ${DEFAULT-VALUE}).")
    String delay;

    @Option(names = "--session-timeout", paramLabel = "TIME", defaultValue = "2s",
            description = "Cluster demo: the hosts' ZooKeeper session timeout; a dead host is noticed about this long after (default: ${DEFAULT-VALUE}).")
    String sessionTimeout;

    @Option(names = "--mix-iodepth", paramLabel = "N", defaultValue = "8", description = "Cluster demo: iodepth of the read/write mix (default: ${DEFAULT-VALUE}).")
    int mixDepth;

    @Option(names = "--keep", description = "Cluster demo: keep the SAN and flash images (they are deleted at the end otherwise).")
    boolean keep;

    @Option(names = "--size", paramLabel = "SIZE", defaultValue = "1G", description = "--single: size of the sparse demo disk (default: ${DEFAULT-VALUE}).")
    String size;

    @Mixin
    LoggingOptions logging;

    @Override
    public Integer call() throws Exception {
        return single ? single() : cluster();
    }

    private int cluster() throws Exception {
        long sanBytes;
        long flashBytes;
        try {
            sanBytes = ByteSize.parse(sanSize);
            flashBytes = ByteSize.parse(flashSize);
        } catch (IllegalArgumentException e) {
            System.err.println("flashvisor demo: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
        if (seconds < 1 || crashSeconds < 1 || mixDepth < 1 || sanBytes < (16L << 20) || sanBytes % 4096 != 0 || flashBytes < (64L << 20)) {
            System.err.println("flashvisor demo: --seconds, --crash-seconds and --mix-iodepth must be at least 1, --san-size at least 16M "
                    + "(a multiple of 4K), --flash-size at least 64M");
            return Main.EXIT_USAGE;
        }
        return new ClusterDemo(new ClusterDemo.Settings(dir, flashDir, flashvisorCommand(), seconds, crashSeconds, sanBytes, flashBytes, delay,
                sessionTimeout, mixDepth, keep), System.out).run();
    }

    /**
     * How to run this very flashvisor in a child process: {@code java -jar flashvisor.jar} when it
     * runs from the jar (bin/flashvisor), else the same class path (tests, an IDE).
     */
    static List<String> flashvisorCommand() throws URISyntaxException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String opts = System.getenv("FLASHVISOR_JAVA_OPTS");
        if (opts != null && !opts.isBlank()) {
            cmd.addAll(List.of(opts.trim().split("\\s+")));
        }
        Path source = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        if (Files.isRegularFile(source) && source.getFileName().toString().endsWith(".jar")) {
            cmd.addAll(List.of("-jar", source.toAbsolutePath().toString()));
        } else {
            cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        }
        return cmd;
    }

    private int single() throws Exception {
        Path home = dir.toAbsolutePath();
        Files.createDirectories(home);
        Path disk = home.resolve("demo.img");
        long bytes = ByteSize.parse(size);
        if (!Files.exists(disk)) {
            createSparse(disk, bytes);
        }
        Path socket = home.resolve("nbd.sock");
        Path control = home.resolve("control.sock");
        Path flashFile = home.resolve("flash.img");
        FlashSpec flash = new FlashSpec(flashFile, Math.max(128L << 20, bytes / 2), false, EvictionPolicies.DEFAULT,
                FlashSpec.DEFAULT_SEQUENTIAL_CUTOFF, DestageSettings.defaults());
        NodeSettings settings = new NodeSettings(List.of(new Listener.Unix(socket, 0600)),
                List.of(new VolumeSpec("demo", disk.toString(), Policy.WRITE_BACK, false, false,
                        "Flashvisor demo disk (" + ByteSize.format(Files.size(disk)) + ", sparse)")),
                NbdServer.Settings.defaults(), flash, control);
        return NodeRunner.run(settings, "demo", System.out, node -> {
            String uri = node.uri(settings.listeners().get(0), "demo");
            System.out.printf("""

                    Flashvisor demo node is running: export 'demo' = %s (%s, sparse), policy write-back,
                    accelerated by the flash file %s.

                    Look at it:
                      nbdinfo '%s'
                      qemu-img info '%s'
                    Write and read it back:
                      qemu-io -f raw '%s' -c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M'
                    Load it with fio (4 KiB random read/write, 10 s):
                      fio --name=demo --ioengine=nbd --uri='%s' --rw=randrw --bs=4k --iodepth=16 --runtime=10 --time_based
                    Watch hits, misses, dirty data and time to clean:
                      bin/flashvisor status --control %s
                    Switch to write-through online (drains dirty data first):
                      bin/flashvisor policy --control %s demo write-through --wait 60
                    Boot a VM from it (QEMU):
                      qemu-system-x86_64 -m 1G -blockdev driver=nbd,node-name=disk0,server.type=unix,server.path=%s,export=demo \\
                        -device virtio-blk-pci,drive=disk0
                    Press Ctrl-C to stop.
                    %n""", disk, ByteSize.format(bytes), flashFile, uri, uri, uri, uri, control, control, socket);
        });
    }

    private static void createSparse(Path disk, long bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(bytes);
        }
    }
}
