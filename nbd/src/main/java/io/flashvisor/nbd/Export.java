package io.flashvisor.nbd;

import io.flashvisor.common.BlockVolume;
import java.util.Objects;

/**
 * A volume as NBD clients see it: a name to ask for, a description for {@code NBD_OPT_LIST}/
 * {@code NBD_INFO_DESCRIPTION}, and the volume that serves its I/O.
 */
public record Export(String name, String description, BlockVolume volume) {
    public Export {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(volume, "volume");
        description = description == null ? "" : description;
        if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 4096) {
            throw new IllegalArgumentException("export name longer than 4096 bytes: " + name);
        }
    }
}
