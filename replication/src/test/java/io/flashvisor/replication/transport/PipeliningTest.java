package io.flashvisor.replication.transport;

import static io.flashvisor.replication.transport.Fixture.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flashvisor.replication.NettyLeakCheck;
import io.flashvisor.replication.protocol.FrameFormat;
import io.flashvisor.replication.protocol.NackCode;
import io.flashvisor.replication.protocol.Read;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Many requests outstanding on one connection, answered in whatever order the sink finishes them. */
@ExtendWith(NettyLeakCheck.class)
class PipeliningTest {
    private final HeldSink sink = new HeldSink();
    private ReplicationServer server;
    private PeerConnector connector;

    @AfterEach
    void stop() {
        if (connector != null) {
            connector.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private PeerClient connect(ReplicationServer.Settings settings) throws Exception {
        server = ReplicationServer.start(settings, sink);
        connector = PeerConnector.create(PeerConnector.Settings.of(CLIENT_HOST, SECRET));
        return connector.connect(address(server), SERVER_HOST).get(10, TimeUnit.SECONDS);
    }

    @Test
    void thousandsOutstandingCompleteOutOfOrderEachWithItsOwnReply() throws Exception {
        int n = 4000;
        PeerClient client = connect(serverSettings().withLimits(FrameFormat.DEFAULT_MAX_PAYLOAD, 8192, 1L << 30));
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        List<CompletableFuture<ByteBuffer>> reads = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            writes.add(client.replicate(replicate(i, i)));
            reads.add(client.read(new Read(10, 3, 100_000 + i, 1 + i % 3)));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> sink.heldCount() == 2 * n); // all outstanding at once
        assertThat(client.outstanding()).isEqualTo(2 * n);
        List<HeldSink.Held> held = sink.takeAll();
        Collections.shuffle(held, new Random(42));
        for (HeldSink.Held h : held) {
            if (!h.read() && h.key() % 7 == 0) {
                h.future().completeExceptionally(new ReplicaException(NackCode.NO_SPACE, "full at " + h.key()));
            } else {
                h.complete();
            }
        }
        for (int i = 1; i <= n; i++) {
            CompletableFuture<Void> w = writes.get(i - 1);
            if (i % 7 == 0) {
                assertThat(w).failsWithin(Duration.ofSeconds(10)).withThrowableOfType(java.util.concurrent.ExecutionException.class)
                        .havingCause().isInstanceOf(ReplicaException.class).withMessageContaining("full at " + i);
            } else {
                assertThat(w).succeedsWithin(Duration.ofSeconds(10));
            }
            assertThat(reads.get(i - 1).get(10, TimeUnit.SECONDS)).isEqualTo(HeldSink.blockPattern(100_000 + i, 1 + i % 3));
        }
        assertThat(client.outstanding()).isZero();
    }

    @Test
    void theServerStopsTakingRequestsBeyondItsInFlightLimit() throws Exception {
        int limit = 16;
        int n = 1000;
        PeerClient client = connect(serverSettings().withLimits(FrameFormat.DEFAULT_MAX_PAYLOAD, limit, 1L << 30));
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            writes.add(client.replicate(replicate(i, i)));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> sink.heldCount() == limit);
        Thread.sleep(200); // give an unbounded server the chance to take more; this one must not
        assertThat(sink.heldCount()).isEqualTo(limit);
        int done = 0;
        while (done < n) {
            await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(1)).atMost(Duration.ofSeconds(10))
                    .until(() -> sink.heldCount() > 0);
            List<HeldSink.Held> batch = sink.takeAll();
            assertThat(batch.size()).isLessThanOrEqualTo(limit);
            Collections.reverse(batch);
            batch.forEach(HeldSink.Held::complete);
            done += batch.size();
        }
        CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
    }

    @Test
    void aDyingServerFailsEveryOutstandingRequest() throws Exception {
        PeerClient client = connect(serverSettings());
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int i = 1; i <= 100; i++) {
            writes.add(client.replicate(replicate(i, i)));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> sink.heldCount() == 100);
        server.close();
        for (CompletableFuture<Void> w : writes) {
            assertThat(w).failsWithin(Duration.ofSeconds(10)).withThrowableOfType(java.util.concurrent.ExecutionException.class)
                    .havingCause().isInstanceOf(PeerConnectionException.class);
        }
        assertThat(client.closeFuture()).succeedsWithin(Duration.ofSeconds(10));
        assertThat(client.isOpen()).isFalse();
        assertThat(client.outstanding()).isZero();
        CompletableFuture<Void> late = client.replicate(replicate(101, 101));
        assertThat(late).isCompletedExceptionally();
        sink.takeAll().forEach(HeldSink.Held::complete); // completions after the close are dropped without leaks
    }

    @Test
    void anUnansweredRequestTimesOutAndTheConnectionLivesOn() throws Exception {
        server = ReplicationServer.start(serverSettings(), sink);
        connector = PeerConnector.create(PeerConnector.Settings.of(CLIENT_HOST, SECRET).withRequestTimeout(Duration.ofMillis(300)));
        PeerClient client = connector.connect(address(server), SERVER_HOST).get(10, TimeUnit.SECONDS);
        CompletableFuture<Void> w = client.replicate(replicate(1, 1));
        assertThat(w).failsWithin(Duration.ofSeconds(10)).withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .havingCause().isInstanceOf(java.util.concurrent.TimeoutException.class);
        assertThat(client.ping()).succeedsWithin(Duration.ofSeconds(10));
        sink.takeAll().forEach(HeldSink.Held::complete); // the late ACK is ignored
        assertThat(client.ping()).succeedsWithin(Duration.ofSeconds(10));
        assertThat(client.outstanding()).isZero();
    }

    @Test
    void theClientRefusesMoreThanItsOutstandingLimit() throws Exception {
        server = ReplicationServer.start(serverSettings(), sink);
        connector = PeerConnector.create(PeerConnector.Settings.of(CLIENT_HOST, SECRET).withMaxOutstanding(10));
        PeerClient client = connector.connect(address(server), SERVER_HOST).get(10, TimeUnit.SECONDS);
        for (int i = 1; i <= 10; i++) {
            client.replicate(replicate(i, i));
        }
        assertThat(client.replicate(replicate(11, 11))).isCompletedExceptionally();
        await().atMost(Duration.ofSeconds(10)).until(() -> sink.heldCount() == 10);
        sink.takeAll().forEach(HeldSink.Held::complete);
    }

    @Test
    void theClientChecksWhoItTalksTo() throws Exception {
        server = ReplicationServer.start(serverSettings(), sink);
        connector = PeerConnector.create(PeerConnector.Settings.of(CLIENT_HOST, SECRET));
        var f = connector.connect(address(server), SERVER_HOST + 1);
        assertThat(f).failsWithin(Duration.ofSeconds(10)).withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .havingCause().isInstanceOf(PeerConnectionException.class).withMessageContaining("is host 2, not host 3");
    }

    @Test
    void connectingToNothingFailsCleanly() throws Exception {
        connector = PeerConnector.create(PeerConnector.Settings.of(CLIENT_HOST, SECRET));
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        var f = connector.connect(new java.net.InetSocketAddress("127.0.0.1", port), 0);
        assertThat(f).failsWithin(Duration.ofSeconds(10)).withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .havingCause().isInstanceOf(PeerConnectionException.class);
    }
}
