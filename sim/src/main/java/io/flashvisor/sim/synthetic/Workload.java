package io.flashvisor.sim.synthetic;

import io.flashvisor.sim.trace.TraceBuilder;

/** A synthetic block workload: the same seed always gives the same requests, on any machine. */
public interface Workload {

    /** Emits the workload's requests into {@code out}. */
    void generate(TraceBuilder out);

    /** The spec that recreates it, e.g. {@code zipf:theta=1.2,blocks=1000000,requests=1000000,write=0.3,seed=1}. */
    String spec();
}
