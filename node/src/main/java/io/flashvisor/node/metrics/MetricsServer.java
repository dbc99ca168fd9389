package io.flashvisor.node.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the metrics over HTTP for Prometheus to scrape: {@code GET /metrics} (also {@code HEAD});
 * anything else is 404 or 405. The JDK's own HTTP server — no web framework for one read-only
 * page. No authentication: the config keeps it on loopback unless told otherwise
 * ({@code metrics.insecure}).
 */
public final class MetricsServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsServer.class);
    public static final String PATH = "/metrics";

    private final HttpServer server;
    private final ExecutorService executor;

    private MetricsServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** Binds {@code address} (port 0: any free port) and serves what {@code metrics} renders at each request. */
    public static MetricsServer start(InetSocketAddress address, Supplier<String> metrics) throws IOException {
        HttpServer server;
        try {
            server = HttpServer.create(address, 16);
        } catch (IOException e) {
            throw new IOException("metrics: cannot listen on " + address + ": " + e.getMessage(), e);
        }
        ExecutorService executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("metrics-http-", 0).factory());
        server.setExecutor(executor);
        server.createContext("/", exchange -> serve(exchange, metrics));
        server.start();
        return new MetricsServer(server, executor);
    }

    private static void serve(HttpExchange exchange, Supplier<String> metrics) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            if (!exchange.getRequestURI().getPath().equals(PATH)) {
                reply(exchange, 404, "text/plain; charset=utf-8", "not found; metrics are at " + PATH + "\n", method);
            } else if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                reply(exchange, 405, "text/plain; charset=utf-8", "use GET\n", method);
            } else {
                String body;
                try {
                    body = metrics.get();
                } catch (RuntimeException e) {
                    LOG.warn("metrics: rendering failed: {}", e.toString(), e);
                    reply(exchange, 500, "text/plain; charset=utf-8", "metrics failed: " + e + "\n", method);
                    return;
                }
                reply(exchange, 200, PrometheusText.CONTENT_TYPE, body, method);
            }
        }
    }

    private static void reply(HttpExchange exchange, int status, String type, String body, String method) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        boolean head = method.equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** The address it listens on (the actual port when 0 was asked). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** The URL Prometheus scrapes. */
    public String url() {
        InetSocketAddress a = address();
        String host = a.getAddress().getHostAddress();
        return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort() + PATH;
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
