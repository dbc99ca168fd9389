package io.flashvisor.cli;

import io.flashvisor.cache.policy.EvictionPolicies;
import io.flashvisor.common.ByteSize;
import io.flashvisor.destage.DestageSettings;
import io.flashvisor.nbd.Listener;
import io.flashvisor.nbd.NbdServer;
import io.flashvisor.nbd.TlsSettings;
import io.flashvisor.node.FlashSpec;
import io.flashvisor.node.HostPort;
import io.flashvisor.node.NodeSettings;
import io.flashvisor.node.Policy;
import io.flashvisor.node.VolumeSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve one backing store over NBD, with no configuration file (like qemu-nbd or nbdkit file).",
            "Prints 'ready URI' once it accepts connections; SIGTERM or Ctrl-C stops it gracefully."},
        footer = {"", "Examples:",
            "  flashvisor serve disk.img --socket /run/disk.sock",
            "  flashvisor serve /dev/mapper/san-lun7 --cache /var/lib/flashvisor/flash.img --cache-size 100G --policy write-back",
            "  flashvisor serve nbd://san.example:10809/lun7 --name vm1 --socket /run/vm1.sock",
            "  flashvisor serve /dev/sdb --listen 0.0.0.0:10809 --tls-cert srv.pem --tls-key srv.key --tls-client-ca ca.pem"})
final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "BACKING",
            description = "A file or block device path, file:///path, nbd://HOST[:PORT]/EXPORT or nbd+unix:///EXPORT?socket=PATH.")
    String backing;

    @ArgGroup(exclusive = true)
    Where where;

    static final class Where {
        @Option(names = "--socket", paramLabel = "PATH",
                description = "Listen on this Unix socket (default: $XDG_RUNTIME_DIR or /tmp, flashvisor-EXPORT.sock).")
        Path socket;

        @Option(names = "--listen", paramLabel = "HOST:PORT", description = "Listen on TCP (port 0: any free port). Needs --tls-cert/--tls-key or --insecure.")
        String listen;
    }

    @Option(names = "--socket-mode", paramLabel = "MODE", defaultValue = "0600", description = "Permissions of the Unix socket (default: ${DEFAULT-VALUE}).")
    String socketMode;

    @Option(names = "--name", paramLabel = "EXPORT", description = "Export name (default: the backing file's name without extension).")
    String name;

    @Option(names = "--description", paramLabel = "TEXT", description = "Export description shown by 'nbdinfo --list'.")
    String description;

    @Option(names = {"-r", "--read-only"}, description = "Refuse writes.")
    boolean readOnly;

    @Option(names = "--direct", description = "Open a file backing store with O_DIRECT (bypass the page cache).")
    boolean direct;

    @Option(names = "--cache", paramLabel = "FLASH", description = "Accelerate with this flash file or device (created at --cache-size if missing).")
    Path cache;

    @Option(names = "--cache-size", paramLabel = "SIZE", description = "Size of a flash file to create, e.g. 10G.")
    String cacheSize;

    @Option(names = "--policy", paramLabel = "POLICY", defaultValue = "write-through",
            description = "With --cache: pass-through, write-through, write-around or write-back (default: ${DEFAULT-VALUE}).")
    String policy;

    @Option(names = "--cache-direct", description = "Open the flash file with O_DIRECT (a real SSD: bypass the page cache).")
    boolean cacheDirect;

    @Option(names = "--eviction", paramLabel = "NAME", description = "Eviction policy of the flash cache (default: s3-fifo).")
    String eviction;

    @Option(names = "--sequential-cutoff", paramLabel = "SIZE", defaultValue = "4M",
            description = "Sequential streams from this run length bypass flash; 0 never (default: ${DEFAULT-VALUE}).")
    String sequentialCutoff;

    @Option(names = "--control", paramLabel = "PATH", description = "Control socket for 'flashvisor status' and 'flashvisor policy'.")
    Path control;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Server certificate chain for TLS on --listen.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "Server private key (PKCS#8 PEM) for TLS on --listen.")
    Path tlsKey;

    @Option(names = "--tls-client-ca", paramLabel = "PEM", description = "Require client certificates signed by these CAs.")
    Path tlsClientCa;

    @Option(names = "--insecure", description = "Allow plaintext TCP: anyone who can reach the port can read and write the export.")
    boolean insecure;

    @Mixin
    LoggingOptions logging;

    @Override
    public Integer call() throws Exception {
        String export = name != null ? name : defaultName(backing);
        Listener listener = listener(export);
        Policy p;
        try {
            p = Policy.parse(policy);
        } catch (IllegalArgumentException e) {
            throw usage("--policy: " + e.getMessage());
        }
        FlashSpec flash = flash();
        if (flash == null && p != Policy.PASS_THROUGH && spec.commandLine().getParseResult().hasMatchedOption("--policy")) {
            throw usage("--policy " + policy + " needs a flash device: add --cache FILE --cache-size SIZE");
        }
        VolumeSpec volume = new VolumeSpec(export, backing, flash == null ? Policy.PASS_THROUGH : p, readOnly, direct,
                description != null ? description : "flashvisor serve " + backing);
        NodeSettings settings = new NodeSettings(List.of(listener), List.of(volume), NbdServer.Settings.defaults(), flash, control);
        return NodeRunner.run(settings, export, System.out, node -> { });
    }

    private FlashSpec flash() {
        if (cache == null) {
            if (cacheSize != null || cacheDirect || eviction != null) {
                throw usage("--cache-size, --cache-direct and --eviction apply with --cache FLASH only");
            }
            return null;
        }
        long size = 0;
        long cutoff;
        try {
            if (cacheSize != null) {
                size = ByteSize.parse(cacheSize);
            }
            cutoff = ByteSize.parse(sequentialCutoff);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        if (cacheSize == null && !Files.exists(cache)) {
            throw usage("--cache " + cache + " does not exist; add --cache-size SIZE to create it");
        }
        if (cacheSize != null && size < (64L << 20)) {
            throw usage("--cache-size: at least 64M");
        }
        String ev = eviction == null ? EvictionPolicies.DEFAULT : eviction;
        if (!EvictionPolicies.NAMES.contains(ev)) {
            throw usage("--eviction: '" + ev + "' is unknown; use one of " + String.join(", ", EvictionPolicies.NAMES));
        }
        return new FlashSpec(cache, size, cacheDirect, ev, cutoff, DestageSettings.defaults());
    }

    private Listener listener(String export) {
        boolean tls = tlsCert != null || tlsKey != null || tlsClientCa != null;
        if (where == null || where.listen == null) {
            if (tls || insecure) {
                throw usage("--tls-* and --insecure apply to --listen only; a Unix socket is protected by its file mode");
            }
            Path socket = where != null ? where.socket : defaultSocketDir().resolve("flashvisor-" + export.replace('/', '_') + ".sock");
            try {
                int mode = Integer.parseInt(socketMode, 8);
                return new Listener.Unix(socket, mode);
            } catch (IllegalArgumentException e) {
                throw usage("--socket-mode: '" + socketMode + "' is not an octal permission such as 0600 or 0660");
            }
        }
        List<String> problems = new ArrayList<>();
        HostPort hp = HostPort.parse(where.listen, "--listen", problems);
        if (hp == null) {
            throw usage(problems.get(0));
        }
        if (insecure && tls) {
            throw usage("choose either TLS (--tls-cert/--tls-key) or --insecure, not both");
        }
        if (insecure) {
            return Listener.Tcp.insecure(hp.host(), hp.port());
        }
        if (tlsCert == null || tlsKey == null) {
            throw usage("--listen needs TLS (--tls-cert PEM --tls-key PEM), or --insecure to accept plaintext from anyone who can reach the port");
        }
        for (Path p : new Path[] {tlsCert, tlsKey, tlsClientCa}) {
            if (p != null && !Files.isReadable(p)) {
                throw usage("cannot read " + p);
            }
        }
        return Listener.Tcp.secure(hp.host(), hp.port(), new TlsSettings(tlsCert, tlsKey, tlsClientCa));
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    private static Path defaultSocketDir() {
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        return Path.of(runtime != null && !runtime.isEmpty() ? runtime : System.getProperty("java.io.tmpdir"));
    }

    /** {@code /images/vm1.img} → {@code vm1}; an NBD URI → its export name, or "disk" if it has none. */
    static String defaultName(String backing) {
        String s = backing;
        int q = s.indexOf('?');
        if (q >= 0) {
            s = s.substring(0, q);
        }
        if (s.contains("://")) {
            s = s.substring(s.indexOf("://") + 3);
            s = s.contains("/") ? s.substring(s.indexOf('/') + 1) : "";
            if (backing.startsWith("file:")) {
                s = Path.of(s).getFileName() == null ? "" : Path.of(s).getFileName().toString();
            }
        } else {
            Path file = Path.of(s).getFileName();
            s = file == null ? "" : file.toString();
        }
        int dot = s.lastIndexOf('.');
        if (dot > 0 && !backing.startsWith("nbd")) {
            s = s.substring(0, dot);
        }
        return s.isEmpty() ? "disk" : s;
    }
}
