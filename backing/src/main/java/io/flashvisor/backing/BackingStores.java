package io.flashvisor.backing;

import io.flashvisor.backing.file.FileBackingStore;
import io.flashvisor.backing.nbd.NbdUri;
import io.flashvisor.backing.nbd.ReconnectingNbdStore;
import io.flashvisor.common.BlockVolume;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Opens a backing store from the string an operator writes in a volume's configuration: a file or
 * block device path (or a {@code file:} URI), or an NBD URI.
 */
public final class BackingStores {
    /** The forms {@link #open} accepts, for error messages and help texts. */
    public static final String SUPPORTED_FORMS =
            "/path/to/file-or-device, file:///path, nbd://host[:port]/export, nbd+unix:///export?socket=/path";

    /**
     * How long an NBD store waits after its connection broke before it connects again: time for the
     * server to finish (or drop) what it had read from the old connection (see {@link ReconnectingNbdStore}).
     */
    static final Duration RECONNECT_SETTLE = Duration.ofSeconds(1);

    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");

    private BackingStores() {
    }

    /**
     * Opens the store {@code location} names.
     *
     * @throws IllegalArgumentException if {@code location} is none of {@link #SUPPORTED_FORMS}
     * @throws IOException              ({@link io.flashvisor.common.VolumeException}) if the store cannot be opened
     */
    public static BlockVolume open(String location, BackingOptions options) throws IOException {
        String s = location == null ? "" : location.trim();
        if (s.isEmpty()) {
            throw new IllegalArgumentException("backing store location is empty; use one of: " + SUPPORTED_FORMS);
        }
        String lower = s.toLowerCase(Locale.ROOT);
        if (lower.startsWith("nbd://") || lower.startsWith("nbd+unix://") || lower.startsWith("nbds://")
                || lower.startsWith("nbds+unix://")) {
            NbdUri uri = NbdUri.parse(s);
            return ReconnectingNbdStore.open(uri, options.readOnly(), options.connectTimeout(), options.ioTimeout(), RECONNECT_SETTLE);
        }
        if (lower.startsWith("file:")) {
            return openFile(fileUriPath(s), options);
        }
        if (SCHEME.matcher(s).find() && !s.startsWith("/")) {
            throw new IllegalArgumentException("unsupported backing store '" + s + "'; use one of: " + SUPPORTED_FORMS);
        }
        try {
            return openFile(Path.of(s), options);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("'" + s + "' is not a valid path; use one of: " + SUPPORTED_FORMS, e);
        }
    }

    private static Path fileUriPath(String s) {
        URI uri;
        try {
            uri = new URI(s);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("bad file URI '" + s + "' (" + e.getReason() + "); write file:///absolute/path", e);
        }
        String authority = uri.getRawAuthority();
        if (authority != null && !authority.isEmpty() && !authority.equalsIgnoreCase("localhost")) {
            throw new IllegalArgumentException("file URI '" + s + "' names host '" + authority + "'; write file:///absolute/path");
        }
        if (uri.getPath() == null || uri.getPath().isEmpty()) {
            throw new IllegalArgumentException("file URI '" + s + "' has no path; write file:///absolute/path");
        }
        return Path.of(uri.getPath());
    }

    private static BlockVolume openFile(Path path, BackingOptions options) throws IOException {
        return FileBackingStore.open(path, options.readOnly(), options.direct(), options.sync());
    }
}
