package io.flashvisor.node;

/**
 * Where the node serves its Prometheus metrics over HTTP ({@code metrics:} in the config).
 *
 * @param host     the address to bind; loopback unless {@code insecure}
 * @param port     the TCP port; 0 = any free port (the node logs and prints the one it got)
 * @param insecure a non-loopback address was allowed explicitly: anyone who reaches it can read the metrics
 */
public record MetricsSpec(String host, int port, boolean insecure) {
}
