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
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads a node's YAML configuration and validates it once, at start. Every problem is collected
 * (not just the first) and named by its place in the file, e.g. {@code volumes[1].policy}, with
 * what to write instead. Relative paths are resolved against the config file's directory.
 */
public final class ConfigLoader {
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
            if (!problems.isEmpty()) {
                throw new ConfigException(source, problems);
            }
            return new NodeSettings(listeners, volumes, nbd, flash, control);
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
