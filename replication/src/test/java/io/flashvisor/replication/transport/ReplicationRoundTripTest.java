package io.flashvisor.replication.transport;

import static io.flashvisor.replication.transport.Fixture.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.replication.NettyLeakCheck;
import io.flashvisor.replication.protocol.BlockRange;
import io.flashvisor.replication.protocol.FrameFormat;
import io.flashvisor.replication.protocol.NackCode;
import io.flashvisor.replication.protocol.Read;
import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.protocol.Replicate;
import io.flashvisor.replication.protocol.Messages;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The happy path through a real socket, into the in-memory replica store and back. */
@ExtendWith(NettyLeakCheck.class)
class ReplicationRoundTripTest {
    private final InMemoryReplicaSink sink = new InMemoryReplicaSink();
    private ReplicationServer server;
    private PeerConnector connector;
    private PeerClient client;

    @BeforeEach
    void start() throws Exception {
        server = ReplicationServer.start(serverSettings(), sink);
        connector = PeerConnector.create(PeerConnector.Settings.of(CLIENT_HOST, SECRET));
        client = connector.connect(address(server), SERVER_HOST).get(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() {
        connector.close();
        server.close();
    }

    @Test
    void replicateReadReleaseAndPing() throws Exception {
        ByteBuffer data = Messages.blockData(256, 1); // the largest write the default limit takes
        client.replicate(new Replicate(CLIENT_HOST, 10, 3, 1, 1000, 256, 1, data)).get(10, TimeUnit.SECONDS);
        assertThat(sink.blockCount()).isEqualTo(256);
        ByteBuffer back = client.read(new Read(10, 4, 1000, 256)).get(10, TimeUnit.SECONDS);
        assertThat(back).isEqualTo(data.duplicate().rewind());
        client.release(new Release(CLIENT_HOST, 10, 3, 0, List.of(new BlockRange(1000, 100)))).get(10, TimeUnit.SECONDS);
        assertThat(sink.blockCount()).isEqualTo(156);
        client.release(new Release(CLIENT_HOST, 10, 3, 1, List.of())).get(10, TimeUnit.SECONDS);
        assertThat(sink.blockCount()).isZero();
        assertThat(client.ping().get(10, TimeUnit.SECONDS)).isPositive();
    }

    @Test
    void nacksCarryTheReplicasReason() throws Exception {
        client.replicate(new Replicate(CLIENT_HOST, 10, 5, 1, 0, 1, 1, Messages.blockData(1, 2))).get(10, TimeUnit.SECONDS);
        var stale = client.replicate(new Replicate(CLIENT_HOST, 10, 4, 1, 0, 1, 2, Messages.blockData(1, 3)));
        assertThat(stale).failsWithin(Duration.ofSeconds(10)).withThrowableOfType(ExecutionException.class).havingCause()
                .isInstanceOfSatisfying(ReplicaException.class, e -> assertThat(e.code()).isEqualTo(NackCode.STALE_EPOCH));
        var missing = client.read(new Read(10, 5, 77, 1));
        assertThat(missing).failsWithin(Duration.ofSeconds(10)).withThrowableOfType(ExecutionException.class).havingCause()
                .isInstanceOfSatisfying(ReplicaException.class, e -> assertThat(e.code()).isEqualTo(NackCode.NOT_FOUND));
        assertThat(client.isOpen()).isTrue();
    }

    @Test
    void aWriteBeyondThePeersLimitFailsBeforeItIsSent() {
        int blocks = FrameFormat.DEFAULT_MAX_PAYLOAD / FrameFormat.BLOCK_SIZE; // header no longer fits
        var f = client.replicate(new Replicate(CLIENT_HOST, 10, 3, 1, 0, blocks, 1, Messages.blockData(blocks, 1)));
        assertThat(f).isCompletedExceptionally();
        assertThat(client.isOpen()).isTrue();
    }
}
