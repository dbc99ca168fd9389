package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;

/** Names of commands and options for logs. */
final class Commands {
    private Commands() {
    }

    static String name(int type) {
        return switch (type) {
            case CMD_READ -> "READ";
            case CMD_WRITE -> "WRITE";
            case CMD_DISC -> "DISC";
            case CMD_FLUSH -> "FLUSH";
            case CMD_TRIM -> "TRIM";
            case CMD_CACHE -> "CACHE";
            case CMD_WRITE_ZEROES -> "WRITE_ZEROES";
            case CMD_BLOCK_STATUS -> "BLOCK_STATUS";
            case CMD_RESIZE -> "RESIZE";
            default -> "CMD_" + type;
        };
    }

    static String optionName(int option) {
        return switch (option) {
            case OPT_EXPORT_NAME -> "EXPORT_NAME";
            case OPT_ABORT -> "ABORT";
            case OPT_LIST -> "LIST";
            case OPT_PEEK_EXPORT -> "PEEK_EXPORT";
            case OPT_STARTTLS -> "STARTTLS";
            case OPT_INFO -> "INFO";
            case OPT_GO -> "GO";
            case OPT_STRUCTURED_REPLY -> "STRUCTURED_REPLY";
            case OPT_LIST_META_CONTEXT -> "LIST_META_CONTEXT";
            case OPT_SET_META_CONTEXT -> "SET_META_CONTEXT";
            case OPT_EXTENDED_HEADERS -> "EXTENDED_HEADERS";
            default -> "OPT_" + Integer.toUnsignedString(option);
        };
    }
}
