package io.flashvisor.node;

import java.util.List;

/** {@code HOST:PORT} or {@code [IPv6]:PORT} as written in configs and on the command line. */
public record HostPort(String host, int port) {

    /** Parses {@code text}; on failure adds a message for {@code at} to {@code problems} and returns null. */
    public static HostPort parse(String text, String at, List<String> problems) {
        int colon = text.lastIndexOf(':');
        String host = colon > 0 ? text.substring(0, colon) : "";
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        try {
            int port = Integer.parseInt(text.substring(colon + 1));
            if (host.isEmpty() || port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            return new HostPort(host, port);
        } catch (NumberFormatException | IndexOutOfBoundsException e) {
            problems.add(at + ": '" + text + "' is not HOST:PORT; write e.g. 127.0.0.1:10809 or [::1]:10809 (port 0 = any free port)");
            return null;
        }
    }
}
