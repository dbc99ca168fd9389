package io.flashvisor.destage;

import java.time.Instant;

/**
 * Whether the destager reaches the backing store.
 *
 * @param healthy       the last batch succeeded (or none failed yet)
 * @param failures      consecutive failed batches
 * @param lastError     the last failure's message, or null
 * @param failingSince  when the current run of failures began, or null
 */
public record DestageHealth(boolean healthy, int failures, String lastError, Instant failingSince) {
    public static final DestageHealth OK = new DestageHealth(true, 0, null, null);
}
