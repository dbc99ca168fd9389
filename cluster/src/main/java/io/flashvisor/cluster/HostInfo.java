package io.flashvisor.cluster;

import java.util.regex.Pattern;

/**
 * What a host announces when it joins: where peers reach it, how much flash it has, and its
 * fault domain (rack, chassis). Stored as the data of the host's ephemeral membership record.
 *
 * @param hostId             unique, stable name of the host; also a path element, so letters,
 *                           digits, '.', '_' and '-' only
 * @param peerAddress        {@code host:port} of its replication endpoint
 * @param flashCapacityBytes size of its flash device
 * @param freeFlashBytes     flash it can still give to replicas of other hosts
 * @param faultDomain        replicas go to hosts in other fault domains first
 */
public record HostInfo(String hostId, String peerAddress, long flashCapacityBytes, long freeFlashBytes, String faultDomain) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,128}");

    public HostInfo {
        requireName("host id", hostId);
        if (peerAddress == null || peerAddress.isBlank()) {
            throw new IllegalArgumentException("host " + hostId + ": peer address is empty");
        }
        if (flashCapacityBytes < 0 || freeFlashBytes < 0 || freeFlashBytes > flashCapacityBytes) {
            throw new IllegalArgumentException("host " + hostId + ": free flash " + freeFlashBytes
                    + " must lie within 0.." + flashCapacityBytes);
        }
        if (faultDomain == null || faultDomain.isBlank()) {
            throw new IllegalArgumentException("host " + hostId + ": fault domain is empty (use e.g. the rack name)");
        }
    }

    public HostInfo withFreeFlash(long freeBytes) {
        return new HostInfo(hostId, peerAddress, flashCapacityBytes, freeBytes, faultDomain);
    }

    /** Host ids and volume names become ZooKeeper path elements: keep them plain. */
    static void requireName(String what, String name) {
        if (name == null || !NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException(what + " '" + name + "' must be 1-128 letters, digits, '.', '_' or '-'");
        }
    }
}
