package io.flashvisor.nbd;

import java.nio.file.Path;
import java.util.Objects;

/** Where an {@link NbdServer} accepts connections. */
public sealed interface Listener permits Listener.Unix, Listener.Tcp {

    /**
     * A Unix-domain socket: the default, because file permissions decide who may connect.
     *
     * @param mode permission bits applied to the socket file after bind, e.g. {@code 0600}
     */
    record Unix(Path path, int mode) implements Listener {
        public Unix {
            Objects.requireNonNull(path, "path");
            if (mode < 0 || mode > 0777) {
                throw new IllegalArgumentException("socket mode must be an octal permission such as 0600: " + Integer.toOctalString(mode));
            }
        }

        @Override
        public String toString() {
            return "unix:" + path + " (mode " + String.format("%04o", mode) + ")";
        }
    }

    /**
     * A TCP listener. {@code tls == null} means plaintext, which anyone who can reach the port may
     * use: it must be an explicit choice ({@link #insecure}) and the server logs a warning.
     * Port 0 binds an ephemeral port; {@link NbdServer#boundPort} tells which.
     */
    record Tcp(String host, int port, TlsSettings tls) implements Listener {
        public Tcp {
            Objects.requireNonNull(host, "host");
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
        }

        public static Tcp secure(String host, int port, TlsSettings tls) {
            return new Tcp(host, port, Objects.requireNonNull(tls, "tls"));
        }

        public static Tcp insecure(String host, int port) {
            return new Tcp(host, port, null);
        }

        @Override
        public String toString() {
            return "tcp:" + host + ":" + port + (tls == null ? " (plaintext)" : " (tls" + (tls.clientCa() != null ? ", client certificates" : "") + ")");
        }
    }
}
