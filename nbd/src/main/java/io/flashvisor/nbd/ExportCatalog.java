package io.flashvisor.nbd;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The exports a server offers, by name. Thread-safe; exports may be added and removed while the
 * server runs: each connection looks its export up during its handshake, so an added export is
 * found by the next connections (a node adds a volume it could claim only after start this way),
 * and a removed one keeps serving connections already attached to it.
 *
 * <p>The empty name is NBD's "default export": it resolves to the export named
 * {@link #defaultExport()} if set, else to the only export when there is exactly one.
 */
public final class ExportCatalog {
    private final Map<String, Export> exports = new LinkedHashMap<>();
    private String defaultExport;

    public synchronized void add(Export export) {
        if (exports.putIfAbsent(export.name(), export) != null) {
            throw new IllegalArgumentException("export '" + export.name() + "' already exists");
        }
    }

    public synchronized Optional<Export> remove(String name) {
        return Optional.ofNullable(exports.remove(name));
    }

    public synchronized void setDefaultExport(String name) {
        this.defaultExport = name;
    }

    public synchronized String defaultExport() {
        return defaultExport;
    }

    /** The export a client asking for {@code name} gets, resolving the empty name as described above. */
    public synchronized Optional<Export> find(String name) {
        if (name.isEmpty()) {
            if (defaultExport != null) {
                return Optional.ofNullable(exports.get(defaultExport));
            }
            return exports.size() == 1 ? exports.values().stream().findFirst() : Optional.empty();
        }
        return Optional.ofNullable(exports.get(name));
    }

    /** A snapshot, in insertion order. */
    public synchronized Collection<Export> list() {
        return java.util.List.copyOf(exports.values());
    }
}
