package io.flashvisor.nbd.server;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/** NBD strings: UTF-8, at most 4096 bytes on the wire. */
final class Strings {
    private Strings() {
    }

    /** The UTF-8 bytes of {@code s}, cut at a character boundary so that they fit in {@code max} bytes. */
    static byte[] truncatedUtf8(String s, int max) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= max) {
            return b;
        }
        int end = max;
        while (end > 0 && (b[end] & 0xC0) == 0x80) {
            end--; // b[end] continues a character that started before: cut before that character
        }
        return java.util.Arrays.copyOf(b, end);
    }

    /** Strictly decodes UTF-8; empty if the bytes are not valid UTF-8. */
    static Optional<String> decodeUtf8(ByteBuffer bytes) {
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes);
            return Optional.of(chars.toString());
        } catch (CharacterCodingException e) {
            return Optional.empty();
        }
    }
}
