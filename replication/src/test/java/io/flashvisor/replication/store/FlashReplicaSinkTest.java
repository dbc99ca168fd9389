package io.flashvisor.replication.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.cache.engine.CacheConfig;
import io.flashvisor.cache.engine.FlashCache;
import io.flashvisor.cache.engine.ReplicaStore;
import io.flashvisor.cache.log.FileFlashChannel;
import io.flashvisor.replication.protocol.ClusterSecret;
import io.flashvisor.replication.protocol.NackCode;
import io.flashvisor.replication.protocol.Read;
import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.protocol.Replicate;
import io.flashvisor.replication.transport.PeerClient;
import io.flashvisor.replication.transport.PeerConnector;
import io.flashvisor.replication.transport.ReplicaException;
import io.flashvisor.replication.transport.ReplicationServer;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A peer replicates into this host's flash log over the real protocol: an ACK means durable (the
 * replica is there after the flash log is reopened), a fenced (older-epoch) owner is refused,
 * a release frees, and a read returns the newest replica.
 */
class FlashReplicaSinkTest {
    static final ClusterSecret SECRET = ClusterSecret.of("a test secret for the flash sink!".getBytes(StandardCharsets.US_ASCII));
    static final long ORIGIN = 1;
    static final long HOLDER = 2;
    static final long VOLUME = 0x77;

    @TempDir
    Path dir;

    @Test
    void acknowledgedReplicasAreDurableFencedOwnersAreRefused() throws Exception {
        Path flash = dir.resolve("flash");
        try (RandomAccessFile f = new RandomAccessFile(flash.toFile(), "rw")) {
            f.setLength(64L << 20);
        }
        CacheConfig config = CacheConfig.defaults().withFormatIfBlank(true);
        try (FlashCache cache = FlashCache.open(FileFlashChannel.open(flash, false), config);
             ReplicationServer server = ReplicationServer.start(ReplicationServer.Settings.of("127.0.0.1", 0, HOLDER, SECRET),
                     new FlashReplicaSink(cache.replicas()));
             PeerConnector connector = PeerConnector.create(PeerConnector.Settings.of(ORIGIN, SECRET));
             PeerClient peer = connector.connect(new InetSocketAddress("127.0.0.1", server.port()), HOLDER).get()) {
            peer.replicate(write(5, 4, 3, 1)).get(); // epoch 5, block 4, sequence 3
            peer.replicate(write(5, 4, 7, 2)).get(); // newer version of block 4
            peer.replicate(write(5, 9, 8, 3)).get();
            ExecutionException stale = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> peer.replicate(write(4, 4, 9, 9)).get());
            assertThat(stale.getCause()).isInstanceOf(ReplicaException.class);
            assertThat(((ReplicaException) stale.getCause()).code()).isEqualTo(NackCode.STALE_EPOCH);

            ByteBuffer got = peer.read(new Read(VOLUME, 5, 4, 1)).get();
            assertThat(got.getLong(0)).as("the newest version of block 4").isEqualTo(2);
            peer.release(new Release(ORIGIN, VOLUME, 5, 7, List.of())).get();
            assertThat(blocks(cache.replicas())).containsExactly(9L);
            assertThatThrownBy(() -> peer.read(new Read(VOLUME, 5, 4, 1)).get())
                    .hasCauseInstanceOf(ReplicaException.class);
        }
        // Reopen: what was acknowledged and not released is still there.
        try (FlashCache reopened = FlashCache.open(FileFlashChannel.open(flash, false), config)) {
            assertThat(blocks(reopened.replicas())).containsExactly(9L);
            assertThat(reopened.replicas().highestEpoch(VOLUME)).isEqualTo(5);
        }
    }

    private static List<Long> blocks(ReplicaStore store) {
        return store.versions(ORIGIN, VOLUME).stream().map(ReplicaStore.Version::block).toList();
    }

    private static Replicate write(long epoch, long block, long sequence, long content) {
        ByteBuffer data = ByteBuffer.allocate(4096);
        while (data.hasRemaining()) {
            data.putLong(content);
        }
        return new Replicate(ORIGIN, VOLUME, epoch, 1, block, 1, sequence, data.flip());
    }
}
