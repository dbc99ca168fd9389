package io.flashvisor.destage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DestagePaceTest {
    final DestageSettings s = new DestageSettings(1024, 16, 0.10, 0.50, Duration.ofMillis(100), Duration.ofSeconds(10));

    @Test
    void tricklesBelowTheLowWatermarkAndRunsFullAtTheHighOne() {
        assertThat(DestagePace.writesInFlight(s, 0.05, 0, 0, 0, false)).isEqualTo(1);
        assertThat(DestagePace.writesInFlight(s, 0.30, 0, 0, 0, false)).isEqualTo(9); // halfway: 1 + 0.5 × 15
        assertThat(DestagePace.writesInFlight(s, 0.50, 0, 0, 0, false)).isEqualTo(16);
        assertThat(DestagePace.writesInFlight(s, 0.95, 0, 0, 0, false)).isEqualTo(16);
    }

    @Test
    void foregroundAndASlowSanBrakeIt() {
        assertThat(DestagePace.writesInFlight(s, 0.30, 2, 0, 0, false)).as("foreground waits on the SAN").isEqualTo(1);
        assertThat(DestagePace.writesInFlight(s, 0.30, 0, 4_000_000, 1_000_000, false)).as("SAN latency 4x its best").isEqualTo(4);
        assertThat(DestagePace.writesInFlight(s, 0.30, 0, 2_000_000, 1_000_000, false)).as("2x is normal variation").isEqualTo(9);
        assertThat(DestagePace.writesInFlight(s, 0.60, 2, 9_000_000, 1_000_000, false)).as("above high: full speed anyway").isEqualTo(16);
    }

    @Test
    void aDrainRunsFullSpeed() {
        assertThat(DestagePace.writesInFlight(s, 0.0, 3, 9_000_000, 1_000_000, true)).isEqualTo(16);
    }

    @Test
    void settingsSayWhatIsWrong() {
        assertThatThrownBy(() -> new DestageSettings(0, 16, 0.1, 0.5, Duration.ofMillis(1), Duration.ofMillis(2)))
                .hasMessageContaining("must be positive");
        assertThatThrownBy(() -> new DestageSettings(8, 16, 0.6, 0.5, Duration.ofMillis(1), Duration.ofMillis(2)))
                .hasMessageContaining("0 <= low <= high <= 1");
    }
}
