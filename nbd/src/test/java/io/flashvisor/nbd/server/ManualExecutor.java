package io.flashvisor.nbd.server;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/** An executor that only queues: the test decides when, and in which order, volume calls run. */
final class ManualExecutor implements Executor {
    private final List<Runnable> tasks = new ArrayList<>();

    @Override
    public synchronized void execute(Runnable command) {
        tasks.add(command);
    }

    synchronized int pending() {
        return tasks.size();
    }

    /** Runs the i-th queued task (in submission order among those still queued). */
    void run(int i) {
        Runnable r;
        synchronized (this) {
            r = tasks.remove(i);
        }
        r.run();
    }

    void runAll() {
        while (pending() > 0) {
            run(0);
        }
    }
}
