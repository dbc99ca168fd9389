package io.flashvisor.common;

/** Small thread lifecycle helpers shared by the agents (appender, cleaner). */
public final class Threads {
    private Threads() {
    }

    /**
     * Waits until {@code thread} has ended, even if the caller is interrupted meanwhile: a close()
     * must not return while its agent still runs. The interrupt is restored afterwards.
     */
    public static void joinUninterruptibly(Thread thread) {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
