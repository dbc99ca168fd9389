package io.flashvisor.node;

/**
 * A validated volume definition.
 *
 * @param backing the backing store's URI or path, as {@code io.flashvisor.backing.BackingStores} accepts it
 */
public record VolumeSpec(String name, String backing, Policy policy, boolean readOnly, boolean direct, String description) {
}
