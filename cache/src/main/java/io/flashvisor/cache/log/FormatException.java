package io.flashvisor.cache.log;

/**
 * A block that does not decode as the structure it should hold: garbage, a torn write, a stale or
 * foreign block. Expected during recovery (every segment's tail ends with one), so it is cheap:
 * no stack trace.
 */
final class FormatException extends Exception {
    private static final long serialVersionUID = 1L;

    FormatException(String message) {
        super(message, null, false, false);
    }
}
