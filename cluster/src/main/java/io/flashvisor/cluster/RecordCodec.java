package io.flashvisor.cluster;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;

/**
 * JSON form of the records stored in ZooKeeper (docs/cluster.md, "Records"). Readers ignore
 * fields they do not know, so a newer version may add fields; {@code format} changes only for an
 * incompatible change. The record version is not stored: it is ZooKeeper's stat version.
 */
final class RecordCodec {
    static final int FORMAT = 1;

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true);

    /** Stored form of {@link HostInfo}. */
    record HostJson(int format, String hostId, String peerAddress, long flashCapacityBytes, long freeFlashBytes, String faultDomain) {
    }

    /** Stored form of {@link VolumeRecord}, without the version. */
    record VolumeJson(int format, String name, String policy, int replicas, String owner, long ownerSession, long epoch,
                      List<String> replicaSet, VolumeState state, String backing) {
    }

    private RecordCodec() {
    }

    static byte[] encode(HostInfo h) {
        return write(new HostJson(FORMAT, h.hostId(), h.peerAddress(), h.flashCapacityBytes(), h.freeFlashBytes(), h.faultDomain()));
    }

    static byte[] encode(VolumeRecord v) {
        return write(new VolumeJson(FORMAT, v.name(), v.policy(), v.replicas(), v.owner(), v.ownerSession(), v.epoch(),
                v.replicaSet(), v.state(), v.backing()));
    }

    static HostInfo decodeHost(String path, byte[] data) {
        HostJson j = read(path, data, HostJson.class);
        checkFormat(path, j.format());
        try {
            return new HostInfo(j.hostId(), j.peerAddress(), j.flashCapacityBytes(), j.freeFlashBytes(), j.faultDomain());
        } catch (RuntimeException e) {
            throw corrupt(path, e);
        }
    }

    static VolumeRecord decodeVolume(String path, byte[] data, long version) {
        VolumeJson j = read(path, data, VolumeJson.class);
        checkFormat(path, j.format());
        try {
            return new VolumeRecord(j.name(), j.policy(), j.replicas(), j.owner(), j.ownerSession(), j.epoch(),
                    j.replicaSet() == null ? List.of() : j.replicaSet(), j.state(), version, j.backing());
        } catch (RuntimeException e) {
            throw corrupt(path, e);
        }
    }

    private static byte[] write(Object o) {
        try {
            return JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode " + o, e);
        }
    }

    private static <T> T read(String path, byte[] data, Class<T> type) {
        if (data == null || data.length == 0) {
            throw corrupt(path, new IOException("no data"));
        }
        try {
            return JSON.readValue(data, type);
        } catch (IOException e) {
            throw corrupt(path, e);
        }
    }

    private static void checkFormat(String path, int format) {
        if (format != FORMAT) {
            throw corrupt(path, new IOException("record format " + format + ", this version reads " + FORMAT));
        }
    }

    private static ClusterException corrupt(String path, Exception cause) {
        return new ClusterException(ClusterException.Reason.CORRUPT_RECORD,
                "cannot decode the record at " + path + ": " + cause.getMessage(), cause);
    }
}
