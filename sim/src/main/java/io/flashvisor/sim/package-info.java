/** Trace replay through the node's own policies, miss-ratio curves and synthetic workloads. */
package io.flashvisor.sim;
