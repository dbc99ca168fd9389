package io.flashvisor.node.volume;

/**
 * Where a volume's I/O time goes: what the VM sees, and the places it can wait on (flash reads and
 * writes kept apart: one is page-cache fast, the other waits for an fdatasync). Each is
 * measured at exactly one kind of call (docs/observability.md, "Latency breakdown").
 */
public enum LatencyComponent {
    /** A READ as the volume serves it: from the call (or the fast path's try) to the data being in the buffer. */
    VM_READ("vm-read"),
    /** A WRITE as the volume serves it: from the call (or the fast path's try) to its acknowledgement. */
    VM_WRITE("vm-write"),
    /** Reads from flash: a request's reads of cached blocks (page cache or device: microseconds to a device read). */
    FLASH_READ("flash-read"),
    /** Writes to flash: every flash-log append (data, invalidation) until it completes — durable after its group's fdatasync. */
    FLASH_WRITE("flash-write"),
    /** The replica round trip: a write sent to the replica set until every peer has acknowledged it durable. */
    PEER("peer"),
    /** The backing store: one read or write call, from the client path (misses, write-through) or the destager. */
    SAN("san");

    private final String label;

    LatencyComponent(String label) {
        this.label = label;
    }

    /** The name in status, docs and metric labels, e.g. {@code vm-read}. */
    public String label() {
        return label;
    }
}
