package io.flashvisor.cluster;

/**
 * A change of {@link SessionState}.
 *
 * @param state      the new state
 * @param sessionId  the session the state refers to (for LOST: the session that was lost)
 * @param newSession for RECONNECTED: true when the client now holds a different session than
 *                   before (everything claimed under the old one is void)
 */
public record SessionEvent(SessionState state, long sessionId, boolean newSession) {
}
