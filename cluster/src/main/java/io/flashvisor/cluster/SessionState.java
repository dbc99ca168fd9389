package io.flashvisor.cluster;

/**
 * This host's standing with the coordination service, as Curator reports it.
 *
 * <ul>
 *   <li>{@link #CONNECTED} — first connection of this client, a fresh session.</li>
 *   <li>{@link #SUSPENDED} — connection lost; the session may or may not still exist on the
 *       servers. <em>In doubt</em>: the host must not acknowledge or destage.</li>
 *   <li>{@link #LOST} — the session is gone (expired on the servers, or the client gave up after
 *       a session timeout while suspended). Its ephemeral records and ownership claims are void.</li>
 *   <li>{@link #RECONNECTED} — connected again; {@link SessionEvent#newSession()} says whether
 *       with the same session (claims still hold) or a new one (after LOST: claims are void,
 *       membership is re-registered, volumes must be reconciled).</li>
 * </ul>
 */
public enum SessionState {
    CONNECTED, SUSPENDED, LOST, RECONNECTED;

    public boolean isConnected() {
        return this == CONNECTED || this == RECONNECTED;
    }
}
