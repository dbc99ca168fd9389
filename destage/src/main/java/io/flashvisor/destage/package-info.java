/** The destager: dirty blocks from flash to the backing store, in flush order, throttled. */
package io.flashvisor.destage;
