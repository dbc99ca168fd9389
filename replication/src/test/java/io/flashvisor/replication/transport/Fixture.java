package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.ClusterSecret;
import io.flashvisor.replication.protocol.FrameFormat;
import io.flashvisor.replication.protocol.Replicate;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** Shared test values: a secret, host ids, a server on 127.0.0.1 port 0. */
final class Fixture {
    static final ClusterSecret SECRET = ClusterSecret.of("the test cluster's shared secret".getBytes(StandardCharsets.US_ASCII));
    static final ClusterSecret WRONG = ClusterSecret.of("not the test cluster's secret!!!".getBytes(StandardCharsets.US_ASCII));
    static final long SERVER_HOST = 2;
    static final long CLIENT_HOST = 1;

    private Fixture() {
    }

    static ReplicationServer.Settings serverSettings() {
        return ReplicationServer.Settings.of("127.0.0.1", 0, SERVER_HOST, SECRET).withHandshakeTimeout(Duration.ofSeconds(5));
    }

    static ReplicationServer start(ReplicationServer.Settings s, ReplicaSink sink) throws IOException {
        return ReplicationServer.start(s, sink);
    }

    static InetSocketAddress address(ReplicationServer server) {
        return new InetSocketAddress("127.0.0.1", server.port());
    }

    static Replicate replicate(long sequence, long firstBlock) {
        ByteBuffer data = ByteBuffer.allocate(FrameFormat.BLOCK_SIZE);
        while (data.hasRemaining()) {
            data.putLong(sequence);
        }
        return new Replicate(CLIENT_HOST, 10, 3, 1, firstBlock, 1, sequence, data.flip());
    }
}
