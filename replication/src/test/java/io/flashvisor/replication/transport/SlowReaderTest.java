package io.flashvisor.replication.transport;

import static io.flashvisor.replication.transport.Fixture.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.replication.NettyLeakCheck;
import io.flashvisor.replication.protocol.FrameFormat;
import io.flashvisor.replication.protocol.Read;
import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.protocol.Replicate;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A peer that asks for data and never reads the replies must not make the server buffer without
 * bound: once its replies back up, the server stops reading its requests (and so stops calling the
 * sink), and TCP pushes back on the peer. Other peers are served meanwhile.
 */
@ExtendWith(NettyLeakCheck.class)
class SlowReaderTest {
    /** Answers every read at once with zeroes, counting them. */
    private static final class ZeroSink implements ReplicaSink {
        final AtomicLong reads = new AtomicLong();

        @Override
        public CompletableFuture<Void> replicate(long peer, Replicate m) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<Void> release(long peer, Release m) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<ByteBuffer> read(long peer, Read m) {
            reads.incrementAndGet();
            return CompletableFuture.completedFuture(ByteBuffer.allocate((int) m.byteLength()));
        }
    }

    @Test
    void aPeerThatStopsReadingIsStoppedNotBuffered() throws Exception {
        ZeroSink sink = new ZeroSink();
        int requests = 2000; // 2000 x 1 MiB = 2 GiB of replies asked for
        try (ReplicationServer server = ReplicationServer.start(
                serverSettings().withLimits(FrameFormat.DEFAULT_MAX_PAYLOAD, 256, 8L << 20), sink);
             PeerConnector connector = PeerConnector.create(PeerConnector.Settings.of(CLIENT_HOST, SECRET));
             RawPeer greedy = new RawPeer(address(server))) {
            greedy.handshake(CLIENT_HOST, SECRET);
            Thread writer = Thread.ofPlatform().daemon().start(() -> {
                try {
                    for (int i = 0; i < requests; i++) {
                        greedy.send(new Read(10, 3, (long) i * 256, 256), i + 1);
                    }
                } catch (Exception e) {
                    // the socket closes at the end of the test while this may still be blocked writing
                }
            });
            long settled = awaitSettled(sink.reads);
            // In flight (8 MiB) + the outbound high-water mark (4 MiB) + what the kernel's socket
            // buffers hold on both ends: tens of replies, never the 2000 asked for.
            assertThat(settled).isLessThan(200);
            assertThat(server.connectionCount()).as("the greedy peer is held back, not disconnected").isEqualTo(1);
            try (PeerClient other = connector.connect(address(server), SERVER_HOST).get(10, TimeUnit.SECONDS)) {
                assertThat(other.ping()).succeedsWithin(Duration.ofSeconds(10));
            }
            greedy.close();
            writer.join(10_000);
        }
    }

    /** Waits until the counter stops moving for half a second; returns its value. */
    private static long awaitSettled(AtomicLong counter) throws InterruptedException {
        long last = -1;
        int still = 0;
        for (int i = 0; i < 400 && still < 5; i++) {
            Thread.sleep(100);
            long now = counter.get();
            still = now == last && now > 0 ? still + 1 : 0;
            last = now;
        }
        return last;
    }
}
