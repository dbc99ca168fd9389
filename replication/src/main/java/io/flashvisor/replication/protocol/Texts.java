package io.flashvisor.replication.protocol;

import java.nio.charset.StandardCharsets;

/** The short UTF-8 texts of NACK and ERROR. */
final class Texts {
    static final int MAX_BYTES = 1024;

    private Texts() {
    }

    /** Cuts a text to at most {@link #MAX_BYTES} UTF-8 bytes (at a character boundary), so it always encodes. */
    static String clip(String s) {
        if (s == null) {
            return "";
        }
        if (s.length() * 3 <= MAX_BYTES) {
            return s;
        }
        int end = Math.min(s.length(), MAX_BYTES);
        while (end > 0 && s.substring(0, end).getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            end--;
        }
        if (end > 0 && Character.isHighSurrogate(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }
}
