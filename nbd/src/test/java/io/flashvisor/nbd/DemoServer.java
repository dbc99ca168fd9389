package io.flashvisor.nbd;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Manual check with real clients: {@code java ... io.flashvisor.nbd.DemoServer /tmp/x.sock [tcpPort] [sizeMiB]}. */
public final class DemoServer {
    public static void main(String[] args) throws Exception {
        ExportCatalog catalog = new ExportCatalog();
        int mib = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        catalog.add(new Export("disk", "a memory disk", new MemoryVolume(64 << 20)));
        if (System.getProperty("file") != null) {
            catalog.add(new Export("file", "a file", new FileVolume(Path.of(System.getProperty("file")), (long) mib << 20)));
        }
        catalog.add(new Export("ro", "read-only", new MemoryVolume(1 << 20, io.flashvisor.common.VolumeFeatures.full().withReadOnly(true))));
        catalog.setDefaultExport("disk");
        List<Listener> listeners = args.length > 1
                ? List.of(new Listener.Unix(Path.of(args[0]), 0600), Listener.Tcp.insecure("127.0.0.1", Integer.parseInt(args[1])))
                : List.of(new Listener.Unix(Path.of(args[0]), 0600));
        try (NbdServer server = NbdServer.start(catalog, listeners, new NbdServer.Settings(32 << 20, Duration.ofSeconds(5)))) {
            System.out.println("ready");
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
