package io.flashvisor.nbd.server;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/** File-system chores around a Unix-domain listening socket. */
final class UnixSockets {
    private UnixSockets() {
    }

    /**
     * Makes {@code path} free to bind: removes a stale socket file left by a process that died, but
     * refuses to touch a socket something still listens on, or a file that is not a socket.
     */
    static void clearStale(Path path) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        if (!attrs.isOther()) {
            throw new IOException("cannot listen on " + path + ": the path exists and is not a socket; remove it or choose another path");
        }
        boolean listening;
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            listening = true;
        } catch (IOException refused) {
            listening = false; // connection refused: nobody listens, the file is a leftover
        }
        if (listening) {
            throw new IOException("cannot listen on " + path + ": another process is listening on it; stop that process or choose another path");
        }
        Files.deleteIfExists(path);
    }

    /** Applies octal permission bits such as {@code 0600} to the socket file. */
    static void chmod(Path path, int mode) throws IOException {
        Files.setPosixFilePermissions(path, permissions(mode));
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
        };
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                set.add(order[bit]);
            }
        }
        return set;
    }
}
