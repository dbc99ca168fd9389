package io.flashvisor.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class RecordCodecTest {
    @Test
    void volumeRecordsRoundTripWithoutTheirVersion() {
        VolumeRecord v = new VolumeRecord("vm1", "write-back", 2, "a", 0x1234L, 7, List.of("b", "c"), VolumeState.DEGRADED, 41);
        byte[] json = RecordCodec.encode(v);
        assertThat(new String(json, StandardCharsets.UTF_8)).doesNotContain("version").contains("\"epoch\":7");
        assertThat(RecordCodec.decodeVolume("/p", json, 41)).isEqualTo(v);
    }

    @Test
    void hostRecordsRoundTrip() {
        HostInfo h = new HostInfo("a", "10.0.0.1:7000", 1L << 40, 1L << 39, "rack7");
        assertThat(RecordCodec.decodeHost("/p", RecordCodec.encode(h))).isEqualTo(h);
    }

    @Test
    void unknownFieldsFromANewerVersionAreIgnored() {
        String json = "{\"format\":1,\"name\":\"vm1\",\"policy\":\"write-back\",\"replicas\":1,\"owner\":null,\"ownerSession\":0,"
                + "\"epoch\":3,\"replicaSet\":[],\"state\":\"CLEAN\",\"futureField\":{\"x\":1}}";
        assertThat(RecordCodec.decodeVolume("/p", json.getBytes(StandardCharsets.UTF_8), 0).epoch()).isEqualTo(3);
    }

    @Test
    void garbageOrBrokenRecordsAreReportedAsCorrupt() {
        for (String bad : List.of("", "not json", "{\"format\":2,\"name\":\"vm1\"}",
                "{\"format\":1,\"name\":\"vm1\",\"policy\":\"p\",\"replicas\":1,\"ownerSession\":0,\"epoch\":1,\"replicaSet\":[],\"state\":\"ACTIVE\"}",
                "{\"format\":1,\"name\":\"../x\",\"policy\":\"p\",\"replicas\":1,\"ownerSession\":0,\"epoch\":1,\"replicaSet\":[],\"state\":\"CLEAN\"}")) {
            assertThatThrownBy(() -> RecordCodec.decodeVolume("/p", bad.getBytes(StandardCharsets.UTF_8), 0))
                    .as(bad).isInstanceOfSatisfying(ClusterException.class,
                            e -> assertThat(e.reason()).isEqualTo(ClusterException.Reason.CORRUPT_RECORD));
        }
    }
}
