package io.flashvisor.sim.policy;

/**
 * A doubly linked list of slot numbers threaded through shared {@code prev}/{@code next} arrays
 * (several lists — ARC's four — share one pair), so moving a block costs a few array writes and
 * no allocation. Head is the most recent end. Not thread-safe.
 */
final class SlotList {
    static final int NIL = -1;

    private final int[] prev;
    private final int[] next;
    int head = NIL;
    int tail = NIL;
    int size;

    SlotList(int[] prev, int[] next) {
        this.prev = prev;
        this.next = next;
    }

    void addFirst(int s) {
        prev[s] = NIL;
        next[s] = head;
        if (head != NIL) {
            prev[head] = s;
        } else {
            tail = s;
        }
        head = s;
        size++;
    }

    void remove(int s) {
        int p = prev[s];
        int n = next[s];
        if (p != NIL) {
            next[p] = n;
        } else {
            head = n;
        }
        if (n != NIL) {
            prev[n] = p;
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
        return prev[s];
    }
}
