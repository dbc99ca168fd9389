package io.flashvisor.common;

import java.io.IOException;

/** A {@link BlockVolume} failure that carries a {@link BlockError}; the message says what happened. */
public class VolumeException extends IOException {
    private static final long serialVersionUID = 1L;

    private final BlockError error;

    public VolumeException(BlockError error, String message) {
        super(message);
        this.error = error;
    }

    public VolumeException(BlockError error, String message, Throwable cause) {
        super(message, cause);
        this.error = error;
    }

    public BlockError error() {
        return error;
    }

    /** The error of any throwable: its own if it is a {@link VolumeException}, otherwise {@link BlockError#IO}. */
    public static BlockError errorOf(Throwable t) {
        return t instanceof VolumeException v ? v.error : BlockError.IO;
    }
}
