package io.flashvisor.replication.protocol;

/** Checks on block ranges shared by the records and the codec. */
final class Blocks {
    private Blocks() {
    }

    /** Null if the range is valid, else why not. */
    static String rangeProblem(long firstBlock, long blockCount) {
        if (firstBlock < 0) {
            return "negative first block " + firstBlock;
        }
        if (blockCount < 1) {
            return "block count " + blockCount + " is not positive";
        }
        if (firstBlock > Long.MAX_VALUE / FrameFormat.BLOCK_SIZE - blockCount) {
            return "blocks " + firstBlock + "+" + blockCount + " lie beyond any volume";
        }
        return null;
    }

    static void checkRange(long firstBlock, long blockCount) {
        String problem = rangeProblem(firstBlock, blockCount);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }
}
