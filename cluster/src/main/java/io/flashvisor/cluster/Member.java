package io.flashvisor.cluster;

/**
 * A live host: its announcement and the coordination session that holds its membership record.
 * The session id tells incarnations apart — a host that restarted (or whose session expired) comes
 * back with a new one, and ownership claims made under the old one are void.
 */
public record Member(HostInfo info, long sessionId) {
    public String hostId() {
        return info.hostId();
    }
}
