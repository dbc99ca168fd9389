package io.flashvisor.node;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** Pieces of NBD URIs (doc/uri.md of the NBD project) that the node prints for operators. */
final class NbdUris {
    private NbdUris() {
    }

    static String encodeExport(String export) {
        return URLEncoder.encode(export, StandardCharsets.UTF_8).replace("+", "%20").replace("%2F", "/");
    }

    static String host(String host) {
        return host.contains(":") ? "[" + host + "]" : host;
    }
}
