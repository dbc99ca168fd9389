package io.flashvisor.node;

/**
 * A configured volume this host does not serve yet because it cannot claim it now (another live
 * host owns it, or a takeover of it is unfinished); {@link PendingVolumes} tries again every
 * second. Serialised as is by the status command, next to the served volumes' {@code VolumeStatus}.
 *
 * @param health always {@code waiting}
 * @param reason why the claim is refused now (the latest answer)
 * @param since  when it started waiting (ISO-8601)
 */
public record WaitingVolume(String name, String policy, String health, String reason, String since) {
    public static final String HEALTH = "waiting";
}
