package io.flashvisor.backing.nbd;

import io.flashvisor.common.Extent;
import io.flashvisor.nbd.wire.NbdConstants;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * One request in flight: what was asked, where a READ's data goes, and what the replies said so
 * far. Only the reader thread touches the reply state; the future hands the outcome to the caller.
 */
final class Pending {
    final long cookie;
    final int command;
    final long offset;
    final long length;
    /** For READ: exactly {@code length} bytes of the caller's buffer, filled in place by the reader. */
    final ByteBuffer dst;
    final CompletableFuture<Extent> done = new CompletableFuture<>();

    private final TreeMap<Long, Long> chunks = new TreeMap<>();
    private long covered;
    private int errno;
    private String errorMessage = "";
    private Extent extent;

    Pending(long cookie, int command, long offset, long length, ByteBuffer dst) {
        this.cookie = cookie;
        this.command = command;
        this.offset = offset;
        this.length = length;
        this.dst = dst;
    }

    boolean isRead() {
        return command == NbdConstants.CMD_READ;
    }

    /** True if {@code [from, from + n)} lies within the request. */
    boolean within(long from, long n) {
        return n >= 0 && from >= offset && n <= length && from - offset <= length - n;
    }

    /**
     * Records that a content chunk covered {@code [from, from + n)}; false if it overlaps an earlier
     * one (the spec forbids that, and summing lengths would otherwise hide a gap).
     */
    boolean cover(long from, long n) {
        Map.Entry<Long, Long> before = chunks.floorEntry(from);
        if (before != null && before.getValue() > from) {
            return false;
        }
        Long next = chunks.ceilingKey(from);
        if (next != null && next < from + n) {
            return false;
        }
        chunks.put(from, from + n);
        covered += n;
        return true;
    }

    boolean fullyCovered() {
        return covered == length;
    }

    void error(int errno, String message) {
        if (this.errno == 0) {
            this.errno = errno;
            this.errorMessage = message;
        }
    }

    int errno() {
        return errno;
    }

    String errorMessage() {
        return errorMessage;
    }

    Extent extent() {
        return extent;
    }

    void extent(Extent e) {
        this.extent = e;
    }

    String describe() {
        return NbdErrors.commandName(command) + (command == NbdConstants.CMD_FLUSH ? "" : " [" + offset + ", +" + length + ")");
    }
}
