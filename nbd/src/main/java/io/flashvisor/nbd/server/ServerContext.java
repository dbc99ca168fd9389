package io.flashvisor.nbd.server;

import io.flashvisor.nbd.ExportCatalog;
import java.util.concurrent.Executor;

/**
 * What every connection of one server shares: the exports, the maximum payload, the executor that
 * runs blocking volume calls, and the registry that drains connections at shutdown.
 */
record ServerContext(ExportCatalog catalog, int maxPayload, Executor volumeExecutor, ConnectionRegistry registry) {
}
