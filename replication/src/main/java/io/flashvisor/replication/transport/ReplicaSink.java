package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.Read;
import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.protocol.Replicate;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * Where a {@link ReplicationServer} delivers what authenticated peers send: in production the
 * replica store in this host's flash log; in tests an {@link InMemoryReplicaSink}. Only
 * messages that passed every check reach it: frame checksum and MAC, message layout, and the
 * origin host equal to the peer the connection authenticated as ({@code peer}).
 *
 * <p>Calls come on the connection's event-loop thread, in the order the peer sent them, and must
 * not block: a sink that does I/O starts it and returns a future. Fail a future with
 * {@link ReplicaException} to choose the NACK code; any other failure is sent as
 * {@link io.flashvisor.replication.protocol.NackCode#IO}. The data of a {@link Replicate} is a view
 * of the network buffer, valid until the returned future completes: copy what you keep.
 */
public interface ReplicaSink {
    /** Completes once the blocks are durable here (the ACK promises exactly that to the origin). */
    CompletableFuture<Void> replicate(long peer, Replicate m);

    /** Forgets what the origin destaged. */
    CompletableFuture<Void> release(long peer, Release m);

    /** Exactly {@code m.byteLength()} bytes, or fails with {@code NOT_FOUND} if not every block is held. */
    CompletableFuture<ByteBuffer> read(long peer, Read m);
}
