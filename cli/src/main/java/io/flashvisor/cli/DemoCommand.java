package io.flashvisor.cli;

import io.flashvisor.common.ByteSize;
import io.flashvisor.cache.policy.EvictionPolicies;
import io.flashvisor.destage.DestageSettings;
import io.flashvisor.nbd.Listener;
import io.flashvisor.nbd.NbdServer;
import io.flashvisor.node.FlashSpec;
import io.flashvisor.node.NodeSettings;
import io.flashvisor.node.Policy;
import io.flashvisor.node.VolumeSpec;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Start a node that serves a sparse demo disk on a Unix socket and print how to attach",
            "nbdinfo, qemu-img, QEMU and fio to it. Ctrl-C stops it."})
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "demo-data", description = "Where the demo disk and socket live (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--size", paramLabel = "SIZE", defaultValue = "1G", description = "Size of the sparse demo disk (default: ${DEFAULT-VALUE}).")
    String size;

    @Mixin
    LoggingOptions logging;

    @Override
    public Integer call() throws Exception {
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
