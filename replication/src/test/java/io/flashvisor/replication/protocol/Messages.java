package io.flashvisor.replication.protocol;

import java.nio.ByteBuffer;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/** jqwik generators for every message type. */
public final class Messages {
    private Messages() {
    }

    public static Arbitrary<PeerMessage> any() {
        return Arbitraries.oneOf(hello(), challenge(), proof(), error(), nack(), replicate(), release(), read(), data(),
                Arbitraries.longs().map(Ping::new), Arbitraries.longs().map(Pong::new), Arbitraries.just(Ack.INSTANCE));
    }

    static Arbitrary<byte[]> nonce() {
        return Arbitraries.bytes().array(byte[].class).ofSize(32);
    }

    static Arbitrary<PeerMessage> hello() {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.integers(), nonce()).as(Hello::new);
    }

    static Arbitrary<PeerMessage> challenge() {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.integers(), Arbitraries.integers(), nonce()).as(Challenge::new);
    }

    static Arbitrary<PeerMessage> proof() {
        return nonce().map(Proof::new);
    }

    static Arbitrary<String> text() {
        return Arbitraries.strings().ofMaxLength(400); // any code points, clipped to 1024 UTF-8 bytes by the record
    }

    static Arbitrary<PeerMessage> error() {
        return Combinators.combine(Arbitraries.of(ErrorCode.class).filter(c -> c != ErrorCode.UNKNOWN), text()).as(ErrorMessage::new);
    }

    static Arbitrary<PeerMessage> nack() {
        return Combinators.combine(Arbitraries.of(NackCode.class).filter(c -> c != NackCode.UNKNOWN), text()).as(Nack::new);
    }

    static Arbitrary<Long> blocks() {
        return Arbitraries.longs().between(0, 1L << 40);
    }

    public static ByteBuffer blockData(int blocks, long seed) {
        byte[] b = new byte[blocks * FrameFormat.BLOCK_SIZE];
        new Random(seed).nextBytes(b);
        return ByteBuffer.wrap(b);
    }

    static Arbitrary<PeerMessage> replicate() {
        Arbitrary<Integer> count = Arbitraries.integers().between(1, 4);
        return Combinators.combine(Arbitraries.longs(), Arbitraries.longs(), Arbitraries.longs().greaterOrEqual(0),
                        Arbitraries.longs().greaterOrEqual(0), blocks(), count, Arbitraries.longs().greaterOrEqual(1), Arbitraries.longs())
                .as((origin, volume, epoch, flush, first, n, seq, seed) ->
                        new Replicate(origin, volume, epoch, flush, first, n, seq, blockData(n, seed)));
    }

    static Arbitrary<PeerMessage> release() {
        Arbitrary<BlockRange> range = Combinators.combine(blocks(), Arbitraries.integers().between(1, 1 << 20)).as(BlockRange::new);
        return Combinators.combine(Arbitraries.longs(), Arbitraries.longs(), Arbitraries.longs(), Arbitraries.longs().greaterOrEqual(0),
                range.list().ofMaxSize(20)).as(Release::new);
    }

    static Arbitrary<PeerMessage> read() {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.longs(), blocks(), Arbitraries.integers().between(1, 256))
                .as(Read::new);
    }

    static Arbitrary<PeerMessage> data() {
        return Combinators.combine(Arbitraries.integers().between(0, 4), Arbitraries.longs()).as(Messages::blockData).map(Data::new);
    }
}
