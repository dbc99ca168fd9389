package io.flashvisor.cache.log;

/** What the appender does after writing a batch, before it acknowledges the batch's appends. */
public enum Durability {
    /** Nothing: an acknowledged append may be lost on power failure. For tests and benchmarks only. */
    NONE,
    /** {@code fdatasync}: the data and the metadata needed to read it back (the default). */
    DATA,
    /** {@code fsync}: also every other metadata (timestamps); never needed on a preallocated device. */
    DATA_AND_METADATA
}
