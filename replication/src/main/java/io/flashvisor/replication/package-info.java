/** The peer replication protocol, replica store and remote reads. */
package io.flashvisor.replication;
