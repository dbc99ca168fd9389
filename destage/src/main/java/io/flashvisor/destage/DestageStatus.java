package io.flashvisor.destage;

/**
 * A snapshot of one volume's destager.
 *
 * @param dirtyBytes        bytes the backing store is still owed
 * @param destagedBytes     bytes written to the backing store since start
 * @param bytesPerSecond    recent destage rate (0 until the first batch)
 * @param secondsToClean    dirty bytes / rate: how long a full drain would take now; 0 when clean,
 *                          -1 when dirty but unknown (no rate measured yet, or destage is failing)
 * @param writesInFlight    the current pace (see {@link DestagePace})
 * @param health            whether batches reach the backing store
 * @param failedBatches     batches (or parts of batches) that failed since start: each failure counts once,
 *                          retries that fail again count again
 */
public record DestageStatus(long dirtyBytes, long destagedBytes, double bytesPerSecond, double secondsToClean,
                            int writesInFlight, DestageHealth health, long failedBatches) {
}
