package io.flashvisor.replication.transport;

import static io.flashvisor.replication.transport.Fixture.*;

import io.flashvisor.replication.protocol.Read;
import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.protocol.Replicate;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Round trips of 4 KiB REPLICATEs over loopback at a fixed number outstanding, against a sink that
 * acknowledges at once: the cost of the protocol and transport alone (framing, CRC32C, HMAC, two
 * event loops), not of any storage. Not a test. Run it with
 * {@code mvn -B -o -q -pl replication test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt}
 * then {@code java -cp replication/target/classes:replication/target/test-classes:$(cat replication/target/cp.txt)
 * io.flashvisor.replication.transport.LoopbackBench [outstanding] [seconds]}. {@code -Dbench.tls=true} runs
 * it inside mutual TLS ({@link PeerCerts}); {@code -Dbench.blocks=N} sends N blocks per REPLICATE.
 */
public final class LoopbackBench {
    private static final class AckSink implements ReplicaSink {
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
            return CompletableFuture.completedFuture(ByteBuffer.allocate((int) m.byteLength()));
        }
    }

    /** {@code -Dbench.fromLoop=true}: send the next request from the completing event loop (no thread hand-off). */
    private static final boolean FROM_LOOP = Boolean.getBoolean("bench.fromLoop");
    private static final boolean TLS = Boolean.getBoolean("bench.tls");
    private static final int BLOCKS = Integer.getInteger("bench.blocks", 1);

    public static void main(String[] args) throws Exception {
        int depth = args.length > 0 ? Integer.parseInt(args[0]) : 32;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        PeerTls serverTls = TLS ? PeerCerts.get().hostB.tls(PeerCerts.get().ca) : null;
        PeerTls clientTls = TLS ? PeerCerts.get().hostA.tls(PeerCerts.get().ca) : null;
        try (ReplicationServer server = ReplicationServer.start(serverSettings().withTls(serverTls), new AckSink());
             PeerConnector connector = PeerConnector.create(PeerConnector.Settings.of(CLIENT_HOST, SECRET).withTls(clientTls))) {
            PeerClient client = connector.connect(address(server), SERVER_HOST).get(10, TimeUnit.SECONDS);
            run(client, depth, 2); // warm-up
            long[] lat = run(client, depth, seconds);
            Arrays.sort(lat);
            System.out.printf("tls=%s blocks=%d outstanding=%d requests=%d rate=%.0f/s (%.0f MB/s) p50=%.1fus p99=%.1fus%n", TLS,
                    BLOCKS, depth, lat.length, lat.length / (double) seconds, lat.length * 4096.0 * BLOCKS / seconds / 1e6, lat[lat.length / 2] / 1e3,
                    lat[(int) (lat.length * 0.99)] / 1e3);
        }
    }

    private static long[] run(PeerClient client, int depth, int seconds) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        long[] lat = new long[50_000_000 / 8];
        AtomicInteger count = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(depth);
        ByteBuffer data = ByteBuffer.allocateDirect(4096 * BLOCKS);
        for (int i = 0; i < depth; i++) {
            issue(client, data, end, lat, count, done);
        }
        done.await();
        return Arrays.copyOf(lat, Math.min(count.get(), lat.length));
    }

    /** One lane: each completion sends the next request, so {@code depth} lanes keep that many outstanding. */
    private static void issue(PeerClient client, ByteBuffer data, long end, long[] lat, AtomicInteger count, CountDownLatch done) {
        long start = System.nanoTime();
        if (start >= end) {
            done.countDown();
            return;
        }
        client.replicate(new Replicate(CLIENT_HOST, 1, 1, 1, 0, BLOCKS, 1, data.duplicate())).whenComplete((v, e) -> {
            if (e != null) {
                e.printStackTrace();
                done.countDown();
                return;
            }
            int i = count.getAndIncrement();
            if (i < lat.length) {
                lat[i] = System.nanoTime() - start;
            }
            if (FROM_LOOP) {
                issue(client, data, end, lat, count, done);
            } else {
                // Next request from another thread than the event loop, as a volume's writers would send.
                CompletableFuture.runAsync(() -> issue(client, data, end, lat, count, done));
            }
        });
    }
}
