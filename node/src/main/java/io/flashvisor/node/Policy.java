package io.flashvisor.node;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How a volume uses flash. The names are the ones operators write in the config. */
public enum Policy {
    /** No caching: every request goes to the backing store. */
    PASS_THROUGH,
    /** Reads are cached; writes go to flash and the backing store before they are acknowledged. */
    WRITE_THROUGH,
    /** Reads are cached; writes go to the backing store only (and invalidate flash). */
    WRITE_AROUND,
    /** Writes are acknowledged once durable on flash (and, with replicas, on peers), destaged later. */
    WRITE_BACK;

    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static Policy parse(String text) {
        for (Policy p : values()) {
            if (p.configName().equals(text)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown policy '" + text + "'; use one of "
                + Arrays.stream(values()).map(Policy::configName).collect(Collectors.joining(", ")));
    }
}
