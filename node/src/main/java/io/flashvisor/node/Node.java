package io.flashvisor.node;

import io.flashvisor.backing.BackingOptions;
import io.flashvisor.backing.BackingStores;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.ByteSize;
import io.flashvisor.common.Closeables;
import io.flashvisor.nbd.Export;
import io.flashvisor.nbd.ExportCatalog;
import io.flashvisor.nbd.Listener;
import io.flashvisor.nbd.NbdServer;
import io.flashvisor.node.volume.CachedVolume;
import io.flashvisor.node.volume.FlashDevice;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Flashvisor process on one host: the composition root that opens every volume's backing
 * store, publishes the volumes as NBD exports and runs the listeners.
 *
 * <p>Lifecycle: {@link #start} opens everything or nothing (a failure closes what was opened and
 * says which volume or listener failed); {@link #close} stops accepting, drains in-flight I/O,
 * then closes the volumes. {@code close()} is idempotent and may be called from a shutdown hook.
 */
public final class Node implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Node.class);

    private final NodeSettings settings;
    private final FlashDevice flash;
    private final List<BlockVolume> volumes;
    private final Map<String, CachedVolume> cached;
    private final NbdServer server;
    private volatile ControlServer control;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);

    private Node(NodeSettings settings, FlashDevice flash, List<BlockVolume> volumes, NbdServer server) {
        this.settings = settings;
        this.flash = flash;
        this.volumes = volumes;
        this.server = server;
        Map<String, CachedVolume> byName = new LinkedHashMap<>();
        for (BlockVolume v : volumes) {
            if (v instanceof CachedVolume c) {
                byName.put(c.name(), c);
            }
        }
        this.cached = byName;
    }

    public static Node start(NodeSettings settings) throws IOException {
        List<AutoCloseable> opened = new ArrayList<>();
        List<BlockVolume> volumes = new ArrayList<>();
        try {
            FlashSpec fs = settings.flash();
            FlashDevice flash = null;
            if (fs != null) {
                flash = FlashDevice.open(fs.device(), fs.size(), fs.direct(), fs.eviction());
                opened.add(flash);
                log.info("flash device {} opened: {} of cache, eviction {}", fs.device(),
                        ByteSize.format(flash.cache().capacityBlocks() * 4096), fs.eviction());
            }
            ExportCatalog catalog = new ExportCatalog();
            for (VolumeSpec spec : settings.volumes()) {
                BlockVolume volume = open(spec, flash, fs);
                opened.add(0, volume); // Volumes close before the flash device they use.
                volumes.add(volume);
                catalog.add(new Export(spec.name(), spec.description(), volume));
                log.info("volume opened name={} backing={} size={} policy={} readOnly={}", spec.name(), spec.backing(),
                        ByteSize.format(volume.size()), spec.policy().configName(), volume.features().readOnly());
            }
            if (flash != null) {
                flash.warnAboutUnattachedDirtyData();
            }
            NbdServer server = NbdServer.start(catalog, settings.listeners(), settings.nbd());
            Node node = new Node(settings, flash, volumes, server);
            opened.add(0, server);
            if (settings.control() != null) {
                node.control = ControlServer.start(settings.control(), node);
                log.info("control socket {}", settings.control());
            }
            for (Listener l : settings.listeners()) {
                log.info("listening on {} uri={}", l, node.uri(l, ""));
            }
            return node;
        } catch (IOException | RuntimeException e) {
            try {
                Closeables.closeAll(opened);
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static BlockVolume open(VolumeSpec spec, FlashDevice flash, FlashSpec fs) throws IOException {
        BlockVolume backing;
        try {
            backing = BackingStores.open(spec.backing(), new BackingOptions(spec.readOnly(), spec.direct()));
        } catch (IOException e) {
            throw new IOException("volume '" + spec.name() + "': cannot open backing store " + spec.backing() + ": " + e.getMessage(), e);
        }
        if (flash == null) {
            return backing;
        }
        try {
            return new CachedVolume(spec.name(), backing, flash, spec.policy(), fs.sequentialCutoff(), fs.destage());
        } catch (IOException | RuntimeException e) {
            backing.close();
            throw new IOException("volume '" + spec.name() + "': cannot attach to flash device " + flash + ": " + e.getMessage(), e);
        }
    }

    /** The flash device, or null when the node runs without one. */
    public FlashDevice flash() {
        return flash;
    }

    /** The volumes that use flash, by name, in configuration order. */
    public Map<String, CachedVolume> cachedVolumes() {
        return cached;
    }

    public NodeSettings settings() {
        return settings;
    }

    /** The NBD URI a client uses to reach {@code export} through {@code listener}. */
    public String uri(Listener listener, String export) {
        String name = NbdUris.encodeExport(export);
        return switch (listener) {
            case Listener.Unix u -> "nbd+unix:///" + name + "?socket=" + u.path().toAbsolutePath();
            case Listener.Tcp t -> (t.tls() == null ? "nbd://" : "nbds://") + NbdUris.host(t.host()) + ":" + server.boundPort(t) + "/" + name;
        };
    }

    /** Blocks until {@link #close} has finished. */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() throws IOException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        log.info("node stopping: draining in-flight requests");
        try {
            Closeables.closeAll(control == null ? List.of(server) : List.of(control, server));
            Closeables.closeAll(volumes);
            if (flash != null) {
                flash.close();
            }
            log.info("node stopped");
        } finally {
            stopped.countDown();
        }
    }
}
