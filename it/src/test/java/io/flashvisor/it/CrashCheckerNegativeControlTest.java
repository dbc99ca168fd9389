package io.flashvisor.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The crash checker must be able to fail. The identical procedure as {@link WriteBackCrashTest}
 * (same {@link CrashChecker}, same workload, trigger, {@code kill -9}, restart, {@code verify_only})
 * against a planted bug: a server that acknowledges every write and keeps none across a kill —
 * {@code nbdkit memory}, restarted empty. The checker must report verification errors in every job.
 */
@Timeout(120)
class CrashCheckerNegativeControlTest {

    @RegisterExtension
    final TestKit kit = new TestKit();

    @AfterEach
    void stopFioFirst() {
        CrashChecker.killWriters();
    }

    @Test
    void checkerFailsOnAServerThatForgetsAcknowledgedWrites() throws Exception {
        Nbdkit forgetful = kit.nbdkit("memory", "size=128M");
        CrashChecker checker = CrashChecker.standard(kit, "planted");
        CrashChecker.Writer writer = checker.startWriter(forgetful.uri());
        writer.writeFor(Duration.ofMillis(2000));
        writer.stopAtTrigger();
        forgetful.process().destroyForcibly().waitFor();

        Nbdkit restarted = kit.nbdkit("memory", "size=128M");
        CrashChecker.Verdict verdict = checker.verifyOnlyNbd(restarted.uri());
        System.out.println("planted bug: " + verdict.summary());
        assertThat(verdict.clean()).as("the checker must fail on lost acknowledged writes\n" + verdict).isFalse();
        assertThat(verdict.exitCode()).as(verdict.toString()).isNotZero();
        for (CrashChecker.JobResult j : verdict.jobs()) {
            assertThat(j.error()).as("job " + j.name() + " reports a verification error\n" + verdict).isNotZero();
        }
        assertThat(verdict.output()).as(verdict.toString()).containsIgnoringCase("verify");
    }
}
