/** Membership, volume records, ownership and epochs. */
package io.flashvisor.cluster;
