package io.flashvisor.common;

import java.util.Locale;

/** Parses and prints byte counts the way operators write them: {@code 512}, {@code 4K}, {@code 10GiB}, {@code 1T}. */
public final class ByteSize {
    private ByteSize() {
    }

    /** Binary units (K = 1024). Throws {@link IllegalArgumentException} with a message that shows the accepted forms. */
    public static long parse(String text) {
        String s = text.trim().toUpperCase(Locale.ROOT).replace(" ", "");
        if (s.endsWith("IB")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("B")) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                case 'P' -> shift = 50;
                default -> shift = -1;
            }
            if (shift >= 0) {
                s = s.substring(0, s.length() - 1);
            } else {
                shift = 0;
            }
        }
        try {
            long n = Long.parseLong(s);
            if (n < 0 || (shift > 0 && n > (Long.MAX_VALUE >> shift))) {
                throw new NumberFormatException();
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a size; write e.g. 4096, 64K, 10G or 1TiB");
        }
    }

    /** Shortest exact binary form, e.g. {@code 1G}, {@code 1536K}, {@code 4097}. */
    public static String format(long bytes) {
        String[] units = {"", "K", "M", "G", "T", "P"};
        int u = 0;
        while (u < units.length - 1 && bytes != 0 && (bytes & 1023) == 0) {
            bytes >>= 10;
            u++;
        }
        return bytes + units[u];
    }
}
