package io.flashvisor.cache.log;

import java.io.IOException;

/** A {@link FlashChannel} write failed with {@code ENOSPC} (e.g. a sparse file on a full file system). */
public final class DeviceFullException extends IOException {
    private static final long serialVersionUID = 1L;

    public DeviceFullException(String message) {
        super(message);
    }

    public DeviceFullException(String message, Throwable cause) {
        super(message, cause);
    }
}
