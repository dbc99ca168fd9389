package io.flashvisor.common;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Planted bugs for negative-control tests: a safety checker is only trusted once it has been seen
 * failing on the bug it exists to catch, in the real processes. A failpoint is switched on with the
 * JVM system property {@code flashvisor.failpoints} (a comma-separated list of names) and is off in
 * every normal run; a node with any failpoint on says so loudly at startup.
 *
 * <p>The names (each documented where it acts):
 * <ul>
 *   <li>{@value #REPLICA_ACK_BEFORE_DURABLE}: a replica holder acknowledges a REPLICATE without
 *       storing it;</li>
 *   <li>{@value #DESTAGE_WITHOUT_FENCE}: the destager writes to the backing store without checking
 *       that this host still holds the volume's lease (epoch).</li>
 * </ul>
 */
public final class Failpoints {
    public static final String PROPERTY = "flashvisor.failpoints";
    public static final String REPLICA_ACK_BEFORE_DURABLE = "replica-ack-before-durable";
    public static final String DESTAGE_WITHOUT_FENCE = "destage-without-fence";

    private static final Set<String> ACTIVE = parse(System.getProperty(PROPERTY, ""));

    private Failpoints() {
    }

    /** Whether the planted bug {@code name} is switched on in this JVM. */
    public static boolean active(String name) {
        return ACTIVE.contains(name);
    }

    /** The failpoints switched on in this JVM (empty in every normal run). */
    public static Set<String> all() {
        return ACTIVE;
    }

    static Set<String> parse(String value) {
        return Arrays.stream(value.split(",")).map(String::strip).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
    }
}
