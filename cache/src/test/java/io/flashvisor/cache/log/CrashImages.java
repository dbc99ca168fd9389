package io.flashvisor.cache.log;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Every state a power failure could leave a {@link RecordingFlashChannel}'s device in, given its
 * logged writes and forces: at each crash point, the writes before the last force are durable, and
 * any subset of the later ones may be (none, all, each one alone, random subsets), and the last
 * may be torn at any 512-byte boundary or lose random sectors. Each image comes with the marks
 * (acknowledgements) logged before the crash point.
 */
final class CrashImages {
    static final int SECTOR = 512;

    record Image(String description, byte[] bytes, List<Object> marks) {
    }

    private CrashImages() {
    }

    static int forEach(byte[] base, List<RecordingFlashChannel.Event> events, long seed, Consumer<Image> consumer) {
        SplittableRandom random = new SplittableRandom(seed);
        byte[] durable = base.clone();
        List<RecordingFlashChannel.Write> pending = new ArrayList<>();
        List<Object> marks = new ArrayList<>();
        int count = 0;
        for (int c = 0; c <= events.size(); c++) {
            // Crash after events[0, c). Marks change no byte: crash just before the next write or force,
            // when the most appends have been acknowledged, is the strictest point for a disk state.
            if (c == events.size() || !(events.get(c) instanceof RecordingFlashChannel.Mark)) {
                count += emit(c, durable, pending, List.copyOf(marks), random, consumer);
            }
            if (c == events.size()) {
                break;
            }
            switch (events.get(c)) {
                case RecordingFlashChannel.Write w -> pending.add(w);
                case RecordingFlashChannel.Force f -> {
                    for (RecordingFlashChannel.Write w : pending) {
                        apply(durable, w);
                    }
                    pending.clear();
                }
                case RecordingFlashChannel.Mark m -> marks.add(m.what());
            }
        }
        return count;
    }

    private static int emit(int point, byte[] durable, List<RecordingFlashChannel.Write> pending, List<Object> marks,
                            SplittableRandom random, Consumer<Image> consumer) {
        int n = 0;
        consumer.accept(new Image("crash after event " + point + ", no pending write", durable.clone(), marks));
        n++;
        if (pending.isEmpty()) {
            return n;
        }
        consumer.accept(new Image("crash after event " + point + ", all " + pending.size() + " pending writes",
                with(durable, pending), marks));
        n++;
        if (pending.size() > 1) {
            for (int i = 0; i < pending.size(); i++) {
                consumer.accept(new Image("crash after event " + point + ", pending write " + i + " alone",
                        with(durable, List.of(pending.get(i))), marks));
                n++;
            }
            for (int k = 0; k < 2; k++) {
                List<RecordingFlashChannel.Write> subset = new ArrayList<>();
                for (RecordingFlashChannel.Write w : pending) {
                    if (random.nextBoolean()) {
                        subset.add(w);
                    }
                }
                consumer.accept(new Image("crash after event " + point + ", random subset " + k, with(durable, subset), marks));
                n++;
            }
        }
        // The last write torn: only its first k sectors arrived (the others pending writes did).
        RecordingFlashChannel.Write last = pending.getLast();
        int sectors = last.bytes().length / SECTOR;
        List<RecordingFlashChannel.Write> others = pending.subList(0, pending.size() - 1);
        for (int k = 1; k < sectors; k++) {
            byte[] img = with(durable, others);
            apply(img, new RecordingFlashChannel.Write(last.position(), Arrays.copyOf(last.bytes(), k * SECTOR)));
            consumer.accept(new Image("crash after event " + point + ", last write torn after sector " + k, img, marks));
            n++;
        }
        // ... or a random set of its sectors arrived (devices do not promise order within a write).
        for (int k = 0; k < 2 && sectors > 1; k++) {
            byte[] img = with(durable, others);
            for (int s = 0; s < sectors; s++) {
                if (random.nextBoolean()) {
                    System.arraycopy(last.bytes(), s * SECTOR, img, (int) last.position() + s * SECTOR, SECTOR);
                }
            }
            consumer.accept(new Image("crash after event " + point + ", last write with random sectors " + k, img, marks));
            n++;
        }
        return n;
    }

    private static byte[] with(byte[] durable, List<RecordingFlashChannel.Write> writes) {
        byte[] img = durable.clone();
        for (RecordingFlashChannel.Write w : writes) {
            apply(img, w);
        }
        return img;
    }

    static void apply(byte[] image, RecordingFlashChannel.Write w) {
        System.arraycopy(w.bytes(), 0, image, (int) w.position(), w.bytes().length);
    }
}
