package io.flashvisor.cache.log;

/**
 * What {@link FlashLog#open} found.
 *
 * @param liveSegments    segments holding at least one intact batch (sealed after recovery)
 * @param batches         intact batches
 * @param records         intact records delivered to {@link RecoveryListener#onRecord}
 * @param lostRecords     DATA records reported to {@link RecoveryListener#onLost}
 * @param unreadableRuns  corrupt headers reported to {@link RecoveryListener#onUnreadable}
 * @param tornTail        the newest batch was torn (never acknowledged) and has been discarded
 * @param maxSequence     the highest sequence in any valid header (appending continues above it)
 * @param maxGeneration   the highest generation in any valid header
 * @param bytesRead       bytes read from the device
 * @param nanos           wall-clock time of the scan
 */
public record RecoverySummary(int liveSegments, long batches, long records, long lostRecords, long unreadableRuns,
                              boolean tornTail, long maxSequence, long maxGeneration, long bytesRead, long nanos) {

    static final RecoverySummary EMPTY = new RecoverySummary(0, 0, 0, 0, 0, false, 0, 0, 0, 0);
}
