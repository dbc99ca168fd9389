package io.flashvisor.sim.policy;

/**
 * A doubly linked list of slot numbers threaded through one shared {@code links} array (slot s's
 * previous at 2s, next at 2s+1; several lists — ARC's four — share it), so moving a block costs
 * a few array writes, no allocation, and one cache line per slot touched: the replay is bound by
 * memory latency once a large cache's lists leave the CPU caches. Head is the most recent end.
 * Not thread-safe.
 */
final class SlotList {
    static final int NIL = -1;

    private final int[] links;
    int head = NIL;
    int tail = NIL;
    int size;

    SlotList(int[] links) {
        this.links = links;
    }

    /** A links array for {@code slots} slots. */
    static int[] links(int slots) {
        return new int[2 * slots];
    }

    void addFirst(int s) {
        links[2 * s] = NIL;
        links[2 * s + 1] = head;
        if (head != NIL) {
            links[2 * head] = s;
        } else {
            tail = s;
        }
        head = s;
        size++;
    }

    void remove(int s) {
        int p = links[2 * s];
        int n = links[2 * s + 1];
        if (p != NIL) {
            links[2 * p + 1] = n;
        } else {
            head = n;
        }
        if (n != NIL) {
            links[2 * n] = p;
        } else {
            tail = p;
        }
        size--;
    }

    void moveToFirst(int s) {
        if (head != s) {
            remove(s);
            addFirst(s);
        }
    }

    /** The neighbour towards the head (newer), or NIL. */
    int newer(int s) {
        return links[2 * s];
    }
}
