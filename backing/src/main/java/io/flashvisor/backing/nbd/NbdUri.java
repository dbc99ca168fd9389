package io.flashvisor.backing.nbd;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Where an NBD export lives, parsed from the standard NBD URI forms
 * ({@code doc/uri.md} of the NBD project): {@code nbd://host[:port][/export]} over TCP (port
 * 10809 by default) and {@code nbd+unix:///[export]?socket=PATH} over a Unix domain socket. The
 * export name is the URI path without its leading {@code /}, percent-decoded, and may be empty.
 *
 * <p>TLS schemes ({@code nbds}, {@code nbds+unix}) are rejected, since this client does not
 * speak TLS yet and the URI standard says a client without TLS must refuse them rather than
 * connect in clear text. Unknown query parameters are rejected too (the standard asks parsers to
 * diagnose them), except experimental {@code x-*} ones and the TLS parameters, which only matter
 * to a TLS client.
 *
 * @param host       host name or IP address for TCP; null for a Unix socket
 * @param port       TCP port; 0 for a Unix socket
 * @param socket     path of the Unix domain socket; null for TCP
 * @param exportName the export name, possibly empty
 */
public record NbdUri(String host, int port, Path socket, String exportName) {
    public static final int DEFAULT_PORT = 10809;

    private static final String FORMS = "nbd://HOST[:PORT]/EXPORT or nbd+unix:///EXPORT?socket=PATH";

    public NbdUri {
        Objects.requireNonNull(exportName, "exportName");
        if ((host == null) == (socket == null)) {
            throw new IllegalArgumentException("exactly one of host and socket must be given");
        }
        if (host != null && (port <= 0 || port > 65535)) {
            throw new IllegalArgumentException("port must be in 1..65535: " + port);
        }
    }

    public static NbdUri tcp(String host, int port, String exportName) {
        return new NbdUri(host, port, null, exportName);
    }

    public static NbdUri unix(Path socket, String exportName) {
        return new NbdUri(null, 0, socket, exportName);
    }

    /** Parses an NBD URI; throws {@link IllegalArgumentException} saying what is wrong and what is accepted. */
    public static NbdUri parse(String text) {
        Objects.requireNonNull(text, "uri");
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw bad(text, "it is not a valid URI (" + e.getReason() + " at index " + e.getIndex() + ")");
        }
        String scheme = uri.getScheme();
        if (scheme == null || uri.isOpaque()) {
            throw bad(text, "it does not start with nbd:// or nbd+unix://");
        }
        if (uri.getRawFragment() != null) {
            throw bad(text, "NBD URIs have no #fragment");
        }
        scheme = scheme.toLowerCase(java.util.Locale.ROOT);
        Map<String, String> query = parseQuery(text, uri.getRawQuery());
        String export = exportName(text, uri);
        return switch (scheme) {
            case "nbd" -> {
                if (query.containsKey("socket")) {
                    throw bad(text, "the socket parameter belongs to nbd+unix:// URIs");
                }
                String host = uri.getHost();
                if (host == null || host.isEmpty()) {
                    throw bad(text, "it has no valid host");
                }
                if (host.startsWith("[") && host.endsWith("]")) {
                    host = host.substring(1, host.length() - 1);
                }
                int port = uri.getPort() == -1 ? DEFAULT_PORT : uri.getPort();
                if (port <= 0 || port > 65535) {
                    throw bad(text, "port " + port + " is not in 1..65535");
                }
                yield tcp(host, port, export);
            }
            case "nbd+unix" -> {
                if (uri.getRawAuthority() != null && !uri.getRawAuthority().isEmpty()) {
                    throw bad(text, "an nbd+unix URI has no host; write three slashes: nbd+unix:///EXPORT?socket=PATH");
                }
                String socket = query.get("socket");
                if (socket == null || socket.isEmpty()) {
                    throw bad(text, "an nbd+unix URI needs a socket parameter: nbd+unix:///EXPORT?socket=PATH");
                }
                if (socket.charAt(0) == '\0') {
                    throw bad(text, "abstract Unix sockets (socket=%00...) are not supported");
                }
                try {
                    yield unix(Path.of(socket), export);
                } catch (InvalidPathException e) {
                    throw bad(text, "socket '" + socket + "' is not a valid path");
                }
            }
            case "nbds", "nbds+unix" -> throw bad(text, "TLS (" + scheme + "://) is not supported yet; use nbd:// or nbd+unix://");
            default -> throw bad(text, "scheme '" + scheme + "' is not an NBD scheme");
        };
    }

    private static String exportName(String text, URI uri) {
        String path = uri.getPath();
        String export = path == null || path.isEmpty() ? "" : path.substring(1);
        if (export.indexOf('\0') >= 0) {
            throw bad(text, "the export name contains a NUL character");
        }
        if (export.getBytes(StandardCharsets.UTF_8).length > 4096) {
            throw bad(text, "the export name is longer than 4096 bytes");
        }
        return export;
    }

    private static Map<String, String> parseQuery(String text, String raw) {
        Map<String, String> result = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return result;
        }
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = percentDecode(text, eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : percentDecode(text, pair.substring(eq + 1));
            if (!key.equals("socket") && !key.startsWith("tls-") && !key.startsWith("x-")) {
                throw bad(text, "unknown query parameter '" + key + "' (known: socket, tls-*, x-*)");
            }
            if (result.put(key, value) != null) {
                throw bad(text, "query parameter '" + key + "' is given twice");
            }
        }
        return result;
    }

    /** RFC 3986 percent-decoding as UTF-8; unlike URLDecoder, '+' stays a plus sign. */
    private static String percentDecode(String text, String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        byte[] out = new byte[s.length()];
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) {
                    throw bad(text, "incomplete percent-escape in '" + s + "'");
                }
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw bad(text, "bad percent-escape in '" + s + "'");
                }
                out[n++] = (byte) (hi << 4 | lo);
                i += 2;
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                if (n + b.length > out.length) {
                    out = java.util.Arrays.copyOf(out, out.length * 2 + b.length);
                }
                System.arraycopy(b, 0, out, n, b.length);
                n += b.length;
            }
        }
        return new String(out, 0, n, StandardCharsets.UTF_8);
    }

    private static IllegalArgumentException bad(String text, String why) {
        return new IllegalArgumentException("bad NBD URI '" + text + "': " + why + "; expected " + FORMS);
    }

    public boolean isUnix() {
        return socket != null;
    }

    /** The address to connect to; a TCP host name is resolved now. */
    public SocketAddress address() {
        return isUnix() ? UnixDomainSocketAddress.of(socket) : new InetSocketAddress(host, port);
    }

    /** The canonical URI, percent-encoded where needed; {@link #parse} reads it back to an equal value. */
    @Override
    public String toString() {
        if (isUnix()) {
            return "nbd+unix:///" + encode(exportName) + "?socket=" + encode(socket.toString());
        }
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return "nbd://" + h + ":" + port + "/" + encode(exportName);
    }

    private static String encode(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~/:@".indexOf(c) >= 0) {
                sb.append(c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }
}
