package io.flashvisor.replication.sim;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Test;

/**
 * The deterministic, seeded protocol simulation (issue 4, "Tests"); docs/replication.md
 * "Deterministic simulation". Replay one seed: {@code -Dsim.seed=N} (optionally {@code -Dsim.config=asBuilt}).
 */
class SimulationTest {
    static final int STEPS = 300;
    /** Seeds per CI run ({@code -Dsim.seeds=N} for a longer sweep). */
    static final int SEEDS = 2_000;
    /** How far a negative control searches when it has no known seed, or its known seed no longer shows it. */
    static final int CONTROL_SEEDS = 10_000;

    /** Runs one seed; returns null, or the violation with the step trace. */
    static String runSeed(long seed, Sim.Config cfg, int traceLines) {
        Sim sim = new Sim(seed, cfg);
        try {
            sim.run(STEPS);
            return null;
        } catch (Sim.Violation v) {
            return "seed " + seed + " (replicas=" + sim.replicas + "): " + v.getMessage()
                    + "\nreplay: mvn -B -o -pl replication test -Dtest=SimulationTest#replay -Dsim.seed=" + seed
                    + "\n--- trace ---\n" + sim.traceTail(traceLines);
        }
    }

    /** {@code -Dsim.config=NAME}: a {@link Sim.Deviation} name, or the product's rules (default). */
    static Sim.Config configFromProperty() {
        String name = System.getProperty("sim.config", "product");
        return name.equals("product") ? Sim.Config.product() : Sim.Config.with(Sim.Deviation.valueOf(name));
    }

    @Test
    void protocolKeepsI1toI4() {
        long start = System.nanoTime();
        int seeds = Integer.getInteger("sim.seeds", SEEDS);
        for (long seed = 1; seed <= seeds; seed++) {
            String r = runSeed(seed, configFromProperty(), 200);
            if (r != null) {
                fail(r);
            }
        }
        double s = (System.nanoTime() - start) / 1e9;
        System.out.printf("simulation: %d seeds x %d steps in %.1f s, no violation%n", seeds, STEPS, s);
    }

    @Test
    void replay() {
        String one = System.getProperty("sim.seed");
        org.junit.jupiter.api.Assumptions.assumeTrue(one != null, "replays one seed given with -Dsim.seed=N");
        String r = runSeed(Long.parseLong(one), configFromProperty(), Integer.MAX_VALUE);
        if (r != null) {
            fail(r);
        }
    }

    /**
     * Negative controls: each planted bug, and each rule as it was before a seed showed it wrong, must
     * make the checkers fail within the seeds of one CI run — else the sweep above proves nothing.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(Sim.Deviation.class)
    void everyDeviationIsCaught(Sim.Deviation deviation) {
        Sim.Config cfg = Sim.Config.with(deviation);
        String r = deviation.knownSeed > 0 ? runSeed(deviation.knownSeed, cfg, 60) : null;
        if (r != null) {
            assertNull(runSeed(deviation.knownSeed, Sim.Config.product(), 60), "the product's rules fail the known seed");
        } else {
            r = firstViolation(cfg, CONTROL_SEEDS);
        }
        assertNotNull(r, deviation + " passed " + CONTROL_SEEDS + " seeds (and its known seed " + deviation.knownSeed
                + "): the simulation does not catch it; find a seed with -Dsim.config=" + deviation + " -Dsim.seeds=N");
        System.out.println(deviation + " caught: " + r.lines().findFirst().orElseThrow());
    }

    /** Finds the first failing seed of a configuration within {@code maxSeeds}; null if none. */
    static String firstViolation(Sim.Config cfg, int maxSeeds) {
        for (long seed = 1; seed <= maxSeeds; seed++) {
            String r = runSeed(seed, cfg, 60);
            if (r != null) {
                return r;
            }
        }
        return null;
    }
}
