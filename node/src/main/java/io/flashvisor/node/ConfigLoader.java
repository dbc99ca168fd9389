package io.flashvisor.node;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.flashvisor.cache.policy.EvictionPolicies;
import io.flashvisor.common.ByteSize;
import io.flashvisor.destage.DestageSettings;
import io.flashvisor.common.Durations;
import io.flashvisor.nbd.Listener;
import io.flashvisor.nbd.NbdServer;
import io.flashvisor.nbd.TlsSettings;
import io.flashvisor.nbd.wire.NbdConstants;
import io.flashvisor.replication.protocol.ClusterSecret;
import io.flashvisor.replication.transport.PeerTls;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads a node's YAML configuration and validates it once, at start. Every problem is collected
 * (not just the first) and named by its place in the file, e.g. {@code volumes[1].policy}, with
 * what to write instead. Relative paths are resolved against the config file's directory.
 */
public final class ConfigLoader {
    /** Cluster, host and volume names become ZooKeeper path elements (docs/cluster.md). */
    private static final Pattern CLUSTER_NAME = Pattern.compile("[A-Za-z0-9._-]{1,128}");
    private static final String NAME_RULE = "1-128 letters, digits, '.', '_' or '-'";
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    private ConfigLoader() {
    }

    public static NodeSettings load(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), List.of("cannot read the file: " + e));
        }
        return parse(text, file.toString(), file.toAbsolutePath().getParent());
    }

    /** Parses {@code text} (named {@code source} in messages); relative paths resolve against {@code baseDir}. */
    public static NodeSettings parse(String text, String source, Path baseDir) throws ConfigException {
        if (text.isBlank() || text.strip().equals("---")) {
            throw new ConfigException(source, List.of("the file is empty; it needs at least 'listeners' and 'volumes'"));
        }
        NodeConfig config;
        try {
            config = YAML.readValue(text, NodeConfig.class);
        } catch (JsonProcessingException e) {
            throw new ConfigException(source, List.of(describe(e)));
        }
        return new Validation(baseDir).validate(config, source);
    }

    private static String describe(JsonProcessingException e) {
        String where = e instanceof JsonMappingException m ? path(m) : "";
        String line = e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
        if (e instanceof UnrecognizedPropertyException u) {
            String known = u.getKnownPropertyIds() == null ? "" : u.getKnownPropertyIds().stream()
                    .map(Object::toString).sorted().collect(Collectors.joining(", "));
            return where + line + ": unknown field '" + u.getPropertyName() + "'; known fields here: " + known;
        }
        String msg = e.getOriginalMessage();
        int nl = msg.indexOf('\n');
        return (where.isEmpty() ? "YAML" : where) + line + ": " + (nl > 0 ? msg.substring(0, nl) : msg);
    }

    private static String path(JsonMappingException e) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    /** One pass over a parsed config, collecting problems. */
    private static final class Validation {
        private final Path baseDir;
        private final List<String> problems = new ArrayList<>();

        Validation(Path baseDir) {
            this.baseDir = baseDir;
        }

        NodeSettings validate(NodeConfig config, String source) throws ConfigException {
            List<Listener> listeners = new ArrayList<>();
            if (config.listeners().isEmpty()) {
                problems.add("listeners: none given; add e.g. '- unix: /run/flashvisor/nbd.sock'");
            }
            for (int i = 0; i < config.listeners().size(); i++) {
                Listener l = listener("listeners[" + i + "]", config.listeners().get(i));
                if (l != null) {
                    listeners.add(l);
                }
            }
            List<VolumeSpec> volumes = new ArrayList<>();
            if (config.volumes().isEmpty()) {
                problems.add("volumes: none given; add e.g. '- {name: vm1, backing: /var/lib/images/vm1.img}'");
            }
            Set<String> names = new HashSet<>();
            for (int i = 0; i < config.volumes().size(); i++) {
                NodeConfig.VolumeConfig c = config.volumes().get(i);
                if (c != null && c.name() != null && !names.add(c.name())) {
                    problems.add("volumes[" + i + "].name: '" + c.name() + "' is used by another volume; names must be unique");
                }
                VolumeSpec v = volume("volumes[" + i + "]", c);
                if (v != null) {
                    volumes.add(v);
                }
            }
            NbdServer.Settings nbd = nbd(config.nbd());
            FlashSpec flash = config.flash() == null ? null : flash(config.flash());
            if (config.flash() == null) {
                for (int i = 0; i < volumes.size(); i++) {
                    if (volumes.get(i).policy() != Policy.PASS_THROUGH) {
                        problems.add("volumes[" + i + "].policy: '" + volumes.get(i).policy().configName()
                                + "' needs a flash device; add 'flash: {device: /var/lib/flashvisor/flash.img, size: 100G}'");
                    }
                }
            }
            Path control = config.control() == null ? null : resolve(config.control());
            ClusterSpec cluster = null;
            if (config.cluster() != null) {
                if (config.flash() == null) {
                    problems.add("cluster: a cluster node needs a flash device (it keeps its peers' replicas there); add 'flash: "
                            + "{device: /var/lib/flashvisor/flash.img, size: 100G}'");
                }
                for (int i = 0; i < config.volumes().size(); i++) {
                    NodeConfig.VolumeConfig c = config.volumes().get(i);
                    if (c != null && c.name() != null && !c.name().isBlank() && !validName(c.name())) {
                        problems.add("volumes[" + i + "].name: '" + c.name() + "' cannot name a volume in a cluster: use " + NAME_RULE);
                    }
                }
                cluster = cluster(config.cluster(), replicas(config));
            } else {
                replicas(config);
            }
            MetricsSpec metrics = config.metrics() == null ? null : metrics(config.metrics());
            if (!problems.isEmpty()) {
                throw new ConfigException(source, problems);
            }
            return new NodeSettings(listeners, volumes, nbd, flash, control, cluster, metrics);
        }

        /** Each volume's {@code replicas}, checked against its policy and the presence of a cluster. */
        private Map<String, Integer> replicas(NodeConfig config) {
            Map<String, Integer> byVolume = new LinkedHashMap<>();
            for (int i = 0; i < config.volumes().size(); i++) {
                NodeConfig.VolumeConfig c = config.volumes().get(i);
                if (c == null || c.replicas() == null) {
                    continue;
                }
                String at = "volumes[" + i + "].replicas";
                int n = c.replicas();
                if (n < 0 || n > 2) {
                    problems.add(at + ": " + n + " is not 0, 1 or 2 (peers that hold each write-back write)");
                    continue;
                }
                if (n > 0 && config.cluster() == null) {
                    problems.add(at + ": " + n + " needs peers to replicate to; add a 'cluster:' section or use replicas: 0");
                }
                if (n > 0 && !Policy.WRITE_BACK.configName().equals(c.policy())) {
                    problems.add(at + ": replicas apply to write-back only; set 'policy: write-back' or remove 'replicas'");
                }
                if (c.name() != null) {
                    byVolume.put(c.name(), n);
                }
            }
            return byVolume;
        }

        private ClusterSpec cluster(NodeConfig.ClusterConfig c, Map<String, Integer> replicas) {
            int before = problems.size();
            if (c.name() == null || c.name().isBlank()) {
                problems.add("cluster.name: missing; the cluster's name, e.g. 'prod' (every host of one cluster uses the same name)");
            } else if (!validName(c.name())) {
                problems.add("cluster.name: '" + c.name() + "' must be " + NAME_RULE);
            }
            String hostId = c.hostId();
            if (hostId == null) {
                hostId = localHostName();
                if (hostId == null) {
                    problems.add("cluster.host-id: missing, and this machine's host name cannot be read; write e.g. 'host-id: hv1'");
                } else if (!validName(hostId)) {
                    problems.add("cluster.host-id: the host name '" + hostId + "' is not a valid host id (" + NAME_RULE
                            + "); write e.g. 'host-id: hv1'");
                }
            } else if (!validName(hostId)) {
                problems.add("cluster.host-id: '" + hostId + "' must be " + NAME_RULE);
            }

            String zookeeper = null;
            ClusterSpec.EmbeddedZooKeeperSpec embedded = null;
            if ((c.zookeeper() == null) == (c.embeddedZookeeper() == null)) {
                problems.add("cluster: give exactly one of 'zookeeper: HOST:PORT[,HOST:PORT...]' (the ensemble) or, for a demo or a "
                        + "test, 'embedded-zookeeper: {dir: PATH}'");
            } else if (c.zookeeper() != null) {
                zookeeper = zookeeper(c.zookeeper());
            } else {
                embedded = embeddedZooKeeper(c.embeddedZookeeper());
            }

            Duration sessionTimeout = ClusterSpec.DEFAULT_SESSION_TIMEOUT;
            if (c.sessionTimeout() != null) {
                try {
                    sessionTimeout = Durations.parse(c.sessionTimeout());
                    if (sessionTimeout.compareTo(Duration.ofMillis(500)) < 0 || sessionTimeout.compareTo(Duration.ofMinutes(5)) > 0) {
                        problems.add("cluster.session-timeout: must lie between 500ms and 5m (6s is usual)");
                    }
                } catch (IllegalArgumentException e) {
                    problems.add("cluster.session-timeout: " + e.getMessage());
                }
            }

            HostPort listen = null;
            if (c.peerListen() == null) {
                problems.add("cluster.peer-listen: missing; HOST:PORT of the replication server, e.g. 10.0.0.1:7400 (port 0 = any free port)");
            } else {
                listen = HostPort.parse(c.peerListen(), "cluster.peer-listen", problems);
            }
            HostPort address = c.peerAddress() == null ? null : HostPort.parse(c.peerAddress(), "cluster.peer-address", problems);
            if (listen != null && address == null && c.peerAddress() == null && isWildcard(listen.host())) {
                problems.add("cluster.peer-address: missing; peer-listen " + c.peerListen() + " is a wildcard address, so give the "
                        + "address other hosts dial, e.g. 10.0.0.1:" + listen.port());
            }

            ClusterSecret secret = null;
            Path secretFile = null;
            if (c.secretFile() == null) {
                problems.add("cluster.secret-file: missing; a file holding the cluster secret in base64, made e.g. with "
                        + "'head -c32 /dev/urandom | base64 > secret && chmod 600 secret' and copied to every host");
            } else {
                secretFile = resolve(c.secretFile());
                secret = secret(secretFile);
            }

            PeerTls peerTls = c.peerTls() == null ? null : peerTls(c.peerTls());

            String faultDomain = c.faultDomain() == null ? ClusterSpec.DEFAULT_FAULT_DOMAIN : c.faultDomain();
            if (faultDomain.isBlank()) {
                problems.add("cluster.fault-domain: empty; a label such as the rack, e.g. 'rack-3'");
            }
            if (problems.size() > before) {
                return null;
            }
            return new ClusterSpec(c.name(), hostId, zookeeper, embedded, sessionTimeout, listen, address, secretFile, secret,
                    faultDomain, replicas, !Boolean.FALSE.equals(c.autoTakeover()), peerTls);
        }

        /**
         * {@code metrics:}: an HTTP endpoint without authentication, so on loopback unless the config says
         * {@code insecure: true} — the rule of the NBD TCP listeners (plaintext only when asked for).
         */
        private MetricsSpec metrics(NodeConfig.MetricsConfig c) {
            if (c.listen() == null) {
                problems.add("metrics.listen: missing; HOST:PORT of the HTTP endpoint Prometheus scrapes, e.g. 127.0.0.1:9410 "
                        + "(port 0 = any free port)");
                return null;
            }
            HostPort hp = HostPort.parse(c.listen(), "metrics.listen", problems);
            if (hp == null) {
                return null;
            }
            boolean insecure = Boolean.TRUE.equals(c.insecure());
            boolean loopback;
            try {
                loopback = InetAddress.getByName(hp.host()).isLoopbackAddress();
            } catch (IOException e) {
                problems.add("metrics.listen: cannot resolve '" + hp.host() + "': " + e.getMessage());
                return null;
            }
            if (!loopback && !insecure) {
                problems.add("metrics.listen: " + c.listen() + " is not a loopback address, and the metrics endpoint has no "
                        + "authentication; use 127.0.0.1:PORT (scrape through a local agent or a tunnel), or add "
                        + "'insecure: true' to let anyone who can reach the port read the metrics");
                return null;
            }
            return new MetricsSpec(hp.host(), hp.port(), insecure && !loopback);
        }

        private String zookeeper(String connect) {
            String servers = connect.strip();
            int chroot = servers.indexOf('/');
            if (chroot >= 0) {
                servers = servers.substring(0, chroot);
            }
            int before = problems.size();
            if (servers.isEmpty()) {
                problems.add("cluster.zookeeper: empty; give the ensemble as HOST:PORT[,HOST:PORT...]");
            }
            for (String server : servers.isEmpty() ? new String[0] : servers.split(",")) {
                HostPort hp = HostPort.parse(server.strip(), "cluster.zookeeper", problems);
                if (hp != null && hp.port() == 0) {
                    problems.add("cluster.zookeeper: '" + server.strip() + "' needs the server's port, e.g. 2181");
                }
            }
            return problems.size() > before ? null : connect.strip();
        }

        private ClusterSpec.EmbeddedZooKeeperSpec embeddedZooKeeper(NodeConfig.EmbeddedZooKeeperConfig c) {
            int before = problems.size();
            if (c.dir() == null || c.dir().isBlank()) {
                problems.add("cluster.embedded-zookeeper.dir: missing; a directory for the embedded ZooKeeper's data, e.g. "
                        + "/var/lib/flashvisor/zookeeper");
            }
            int port = c.port() == null ? 0 : c.port();
            if (port < 0 || port > 65535) {
                problems.add("cluster.embedded-zookeeper.port: " + port + " is not a TCP port (0 = any free port)");
            }
            return problems.size() > before ? null : new ClusterSpec.EmbeddedZooKeeperSpec(resolve(c.dir()), port);
        }

        /** Reads the cluster secret; the file must be a regular file that only its owner may read or write. */
        private ClusterSecret secret(Path file) {
            String at = "cluster.secret-file";
            if (!ownerOnly(at, file, "anyone who reads the secret can write into this host's flash")) {
                return null;
            }
            try {
                return ClusterSecret.fromBase64(Files.readString(file, StandardCharsets.US_ASCII));
            } catch (IOException e) {
                problems.add(at + ": cannot read '" + file + "': " + e.getMessage());
            } catch (IllegalArgumentException e) {
                problems.add(at + ": '" + file + "': " + e.getMessage()); // never quotes the secret itself
            }
            return null;
        }

        /**
         * A readable regular file that only its owner may read or write (a secret, a private key);
         * otherwise a problem naming {@code at}, {@code why} it matters and the {@code chmod} that fixes it.
         */
        private boolean ownerOnly(String at, Path file, String why) {
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                problems.add(at + ": '" + file + "' is not a readable file");
                return false;
            }
            try {
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
                Set<PosixFilePermission> shared = Set.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
                        PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
                        PosixFilePermission.OTHERS_EXECUTE);
                if (perms.stream().anyMatch(shared::contains)) {
                    problems.add(at + ": '" + file + "' is accessible to group or others (" + PosixFilePermissions.toString(perms)
                            + "); " + why + ": run 'chmod 600 " + file + "'");
                    return false;
                }
            } catch (UnsupportedOperationException e) {
                // Not a POSIX file system: nothing to check.
            } catch (IOException e) {
                problems.add(at + ": cannot read the permissions of '" + file + "': " + e.getMessage());
                return false;
            }
            return true;
        }

        /**
         * {@code cluster.peer-tls}: this host's certificate and key and the cluster's CA, read and checked
         * now (PEM, the key is the certificate's and owner-only, the certificate valid, for server and
         * client use and signed by the CA), so that a mistake stops the node at start, not at a peer's
         * first handshake.
         */
        private PeerTls peerTls(NodeConfig.PeerTlsConfig c) {
            String at = "cluster.peer-tls";
            Path cert = readableFile(at + ".cert", c.cert());
            Path ca = readableFile(at + ".ca", c.ca());
            Path key = null;
            if (c.key() == null) {
                problems.add(at + ".key: missing; this host's private key (PEM, PKCS#8), readable by its owner only");
            } else {
                key = resolve(c.key());
                if (!ownerOnly(at + ".key", key, "anyone who reads the key can pose as this host to TLS")) {
                    key = null;
                }
            }
            if (cert == null || key == null || ca == null) {
                return null;
            }
            try {
                return PeerTls.load(cert, key, ca);
            } catch (IOException e) {
                problems.add(at + ": " + e.getMessage());
                return null;
            }
        }

        private static boolean validName(String name) {
            return CLUSTER_NAME.matcher(name).matches() && !name.equals(".") && !name.equals("..");
        }

        private static boolean isWildcard(String host) {
            return host.equals("0.0.0.0") || host.equals("::") || host.equals("0:0:0:0:0:0:0:0") || host.equals("*");
        }

        private static String localHostName() {
            try {
                String name = InetAddress.getLocalHost().getHostName();
                return name == null || name.isBlank() ? null : name;
            } catch (IOException e) {
                return null;
            }
        }

        private Listener listener(String at, NodeConfig.ListenerConfig c) {
            if (c == null || (c.unix() == null) == (c.tcp() == null)) {
                problems.add(at + ": give exactly one of 'unix: PATH' or 'tcp: HOST:PORT'");
                return null;
            }
            if (c.unix() != null) {
                if (c.tls() != null || c.insecure() != null) {
                    problems.add(at + ": 'tls' and 'insecure' apply to tcp listeners only; a unix socket is protected by its file mode");
                }
                int mode = 0600;
                if (c.mode() != null) {
                    try {
                        mode = Integer.parseInt(c.mode(), 8);
                        if (mode > 0777) {
                            throw new NumberFormatException();
                        }
                    } catch (NumberFormatException e) {
                        problems.add(at + ".mode: '" + c.mode() + "' is not an octal permission; write e.g. \"0600\" or \"0660\" (quoted)");
                    }
                }
                return new Listener.Unix(resolve(c.unix()), mode);
            }
            if (c.mode() != null) {
                problems.add(at + ".mode: applies to unix listeners only");
            }
            HostPort hp = HostPort.parse(c.tcp(), at + ".tcp", problems);
            boolean insecure = Boolean.TRUE.equals(c.insecure());
            if (c.tls() == null && !insecure) {
                problems.add(at + ": a tcp listener needs 'tls: {certificate, key}' or, to accept plaintext from anyone "
                        + "who can reach the port, an explicit 'insecure: true'");
                return null;
            }
            if (c.tls() != null && insecure) {
                problems.add(at + ": choose either 'tls' or 'insecure: true', not both");
                return null;
            }
            if (hp == null) {
                return null;
            }
            if (insecure) {
                return Listener.Tcp.insecure(hp.host(), hp.port());
            }
            TlsSettings tls = tls(at + ".tls", c.tls());
            return tls == null ? null : Listener.Tcp.secure(hp.host(), hp.port(), tls);
        }

        private TlsSettings tls(String at, NodeConfig.TlsConfig c) {
            Path cert = readableFile(at + ".certificate", c.certificate());
            Path key = readableFile(at + ".key", c.key());
            if (key != null && !ownerOnly(at + ".key", key, "anyone who reads the key can pose as this server")) {
                key = null;
            }
            Path ca = c.clientCa() == null ? null : readableFile(at + ".client-ca", c.clientCa());
            if (cert == null || key == null || (c.clientCa() != null && ca == null)) {
                return null;
            }
            return new TlsSettings(cert, key, ca);
        }

        private VolumeSpec volume(String at, NodeConfig.VolumeConfig c) {
            if (c == null) {
                problems.add(at + ": empty volume entry");
                return null;
            }
            int before = problems.size();
            if (c.name() == null || c.name().isBlank()) {
                problems.add(at + ".name: missing; the name clients ask for, e.g. 'vm1-disk0'");
            } else if (c.name().getBytes(StandardCharsets.UTF_8).length > NbdConstants.MAX_STRING) {
                problems.add(at + ".name: longer than 4096 bytes");
            }
            if (c.backing() == null || c.backing().isBlank()) {
                problems.add(at + ".backing: missing; a file or device path, or an NBD URI such as nbd://san:10809/lun7");
            }
            Policy policy = Policy.PASS_THROUGH;
            if (c.policy() != null) {
                try {
                    policy = Policy.parse(c.policy());
                } catch (IllegalArgumentException e) {
                    problems.add(at + ".policy: " + e.getMessage());
                }
            }
            if (problems.size() > before) {
                return null;
            }
            String backing = isUri(c.backing()) ? c.backing() : resolve(c.backing()).toString();
            return new VolumeSpec(c.name(), backing, policy, Boolean.TRUE.equals(c.readOnly()),
                    Boolean.TRUE.equals(c.direct()), c.description() == null ? "" : c.description());
        }

        private FlashSpec flash(NodeConfig.FlashConfig c) {
            int before = problems.size();
            if (c.device() == null || c.device().isBlank()) {
                problems.add("flash.device: missing; a file or block device for the flash log, e.g. /var/lib/flashvisor/flash.img");
            }
            long size = sizeAt("flash.size", c.size(), 0);
            if (c.size() != null && size < (64L << 20)) {
                problems.add("flash.size: at least 64M");
            }
            String eviction = c.eviction() == null ? EvictionPolicies.DEFAULT : c.eviction();
            if (!EvictionPolicies.NAMES.contains(eviction)) {
                problems.add("flash.eviction: '" + eviction + "' is unknown; use one of " + String.join(", ", EvictionPolicies.NAMES));
            }
            long cutoff = sizeAt("flash.sequential-cutoff", c.sequentialCutoff(), FlashSpec.DEFAULT_SEQUENTIAL_CUTOFF);
            DestageSettings d = DestageSettings.defaults();
            double low = percentAt("flash.dirty-low", c.dirtyLow(), d.lowWatermark());
            double high = percentAt("flash.dirty-high", c.dirtyHigh(), d.highWatermark());
            if (low > high) {
                problems.add("flash.dirty-low: must not be above flash.dirty-high");
            }
            if (problems.size() > before) {
                return null;
            }
            return new FlashSpec(resolve(c.device()), size, Boolean.TRUE.equals(c.direct()), eviction, cutoff,
                    new DestageSettings(d.batchBlocks(), d.maxWrites(), low, high, d.retryMin(), d.retryMax()));
        }

        private long sizeAt(String at, String value, long otherwise) {
            if (value == null) {
                return otherwise;
            }
            try {
                return ByteSize.parse(value);
            } catch (IllegalArgumentException e) {
                problems.add(at + ": " + e.getMessage());
                return otherwise;
            }
        }

        private double percentAt(String at, String value, double otherwise) {
            if (value == null) {
                return otherwise;
            }
            String v = value.strip();
            try {
                double d = Double.parseDouble(v.endsWith("%") ? v.substring(0, v.length() - 1) : v);
                if (d < 0 || d > 100) {
                    throw new NumberFormatException();
                }
                return d / 100;
            } catch (NumberFormatException e) {
                problems.add(at + ": '" + value + "' is not a percentage between 0% and 100%");
                return otherwise;
            }
        }

        private NbdServer.Settings nbd(NodeConfig.NbdConfig c) {
            NbdServer.Settings d = NbdServer.Settings.defaults();
            int maxPayload = d.maxPayload();
            Duration drain = d.drainTimeout();
            if (c.maxPayload() != null) {
                try {
                    long v = ByteSize.parse(c.maxPayload());
                    if (v < 4096 || v > (1 << 30) || Long.bitCount(v) != 1) {
                        problems.add("nbd.max-payload: must be a power of two between 4K and 1G, e.g. 32M");
                    } else {
                        maxPayload = (int) v;
                    }
                } catch (IllegalArgumentException e) {
                    problems.add("nbd.max-payload: " + e.getMessage());
                }
            }
            if (c.drainTimeout() != null) {
                try {
                    drain = Durations.parse(c.drainTimeout());
                } catch (IllegalArgumentException e) {
                    problems.add("nbd.drain-timeout: " + e.getMessage());
                }
            }
            return new NbdServer.Settings(maxPayload, drain);
        }

        private Path readableFile(String at, String value) {
            if (value == null) {
                problems.add(at + ": missing; a PEM file");
                return null;
            }
            Path p = resolve(value);
            if (!Files.isReadable(p) || !Files.isRegularFile(p)) {
                problems.add(at + ": '" + p + "' is not a readable file");
                return null;
            }
            return p;
        }

        private Path resolve(String path) {
            Path p = Path.of(path);
            return baseDir == null || p.isAbsolute() ? p : baseDir.resolve(p).normalize();
        }

        private static boolean isUri(String backing) {
            return backing.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*");
        }
    }
}
