package io.flashvisor.cache.engine;

import io.flashvisor.cache.engine.EngineModelPropertiesTest.Action;
import io.flashvisor.cache.engine.EngineModelPropertiesTest.Clean;
import io.flashvisor.cache.engine.EngineModelPropertiesTest.Crash;
import io.flashvisor.cache.engine.EngineModelPropertiesTest.CrashDuringWrite;
import io.flashvisor.cache.engine.EngineModelPropertiesTest.Destage;
import io.flashvisor.cache.engine.EngineModelPropertiesTest.DuringReclaim;
import io.flashvisor.cache.engine.EngineModelPropertiesTest.Flush;
import io.flashvisor.cache.engine.EngineModelPropertiesTest.Invalidate;
import io.flashvisor.cache.engine.EngineModelPropertiesTest.Read;
import io.flashvisor.cache.engine.EngineModelPropertiesTest.Write;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Counterexamples {@link EngineModelPropertiesTest} found, replayed exactly (device size and dirty limit
 * as they were then), named after the bug they pin.
 */
class EngineModelRegressionTest {

    /**
     * A clean write dropped a block's dirty version (#39); a dirty write in a later epoch then
     * superseded the clean record (#45), which the cleaner reclaimed as dead; after the crash (#70)
     * recovery found the old dirty record (moved earlier, so it outlived the clean one) and, with
     * nothing left saying it had been dropped, brought it back as owed to its epoch — the destager
     * would have written stale data. Fixed by the CLEAN that a clean write over dirty versions appends
     * with its data.
     */
    @Test
    void aCleanWriteOverDirtyVersionsKeepsThemDroppedAfterItsOwnRecordIsReclaimed() throws Exception {
        List<Action> actions = List.of(
                new Write(1, 26, 3, true),
                new Destage(1, 7),
                new Destage(1, 3),
                new Clean(2),
                new Write(0, 6, 1, true),
                new Write(0, 100, 2, false),
                new Flush(1),
                new Read(1, 2),
                new Crash(-2L),
                new Read(1, 119),
                new Write(0, 10, 3, false),
                new Write(0, 1, 12, true),
                new Write(0, 1, 1, true),
                new Write(1, 94, 8, false),
                new Read(1, 27),
                new Crash(-11496L),
                new Destage(0, 9),
                new Flush(1),
                new Invalidate(1, 119, 40),
                new Invalidate(1, 21, 18),
                new Write(1, 6, 4, true),
                new Read(0, 99),
                new Write(0, 30, 6, true),
                new Write(1, 6, 7, true),
                new Write(1, 1, 12, false),
                new Write(0, 118, 1, true),
                new Write(1, 0, 11, true),
                new Write(0, 8, 9, false),
                new Crash(-8409L),
                new Read(0, 12),
                new Invalidate(1, 0, 1),
                new Write(1, 94, 1, true),
                new Write(0, 58, 2, false),
                new Write(0, 119, 11, false),
                new Write(0, 119, 1, false),
                new Write(1, 11, 8, false),
                new Read(1, 2),
                new Crash(0L),
                new Write(0, 0, 1, false),
                new Write(0, 0, 11, false),
                new Invalidate(0, 5, 9),
                new Invalidate(1, 1, 40),
                new Destage(1, 7),
                new Read(0, 109),
                new Write(1, 3, 3, false),
                new Write(0, 0, 2, true),
                new Destage(1, 3),
                new Write(1, 22, 1, true),
                new Write(0, 76, 12, true),
                new Destage(1, 3),
                new Write(1, 118, 1, true),
                new Write(1, 119, 2, false),
                new Invalidate(1, 119, 40),
                new Invalidate(1, 30, 40),
                new CrashDuringWrite(new Write(0, 38, 5, true), 115L),
                new Invalidate(1, 119, 1),
                new Write(1, 20, 8, true),
                new Write(1, 22, 11, false),
                new Clean(1),
                new Read(1, 6),
                new Destage(0, 4),
                new Flush(0),
                new Destage(0, 5),
                new Write(1, 34, 9, false),
                new Write(0, 119, 12, false),
                new Write(1, 2, 2, true),
                new Flush(1),
                new Write(0, 118, 11, true),
                new Write(1, 3, 7, true),
                new Read(0, 63),
                new Crash(-242699L),
                new Write(1, 29, 10, false),
                new Clean(2),
                new Write(1, 10, 7, true),
                new Write(1, 45, 1, true),
                new Crash(251628126176289958L),
                new Read(0, 2),
                new Destage(0, 1));
        EngineModelPropertiesTest.check(actions, 12, 90);
    }

    /**
     * An INVALIDATE (#39) killed a dirty version; the block was written dirty again (#45); when the
     * cleaner re-appended the still-needed INVALIDATE it had to leave that block out (the copy would
     * kill the new version too), and after the crash (#52) the old dirty record came back as owed.
     * Fixed by the CLEAN up to the original INVALIDATE's sequence that now goes for the left-out
     * blocks. (This run also made the cleaner copy live data around endlessly on the tiny device,
     * which the cleaner now detects.)
     */
    @Test
    void aReappendedInvalidateStillNeutralisesOldDirtyRecordsOfBlocksThatAreDirtyAgain() throws Exception {
        List<Action> actions = List.of(
                new Write(0, 97, 13, true),
                new Write(1, 20, 4, true),
                new Write(0, 118, 16, true),
                new DuringReclaim(new Write(1, 34, 10, false)),
                new DuringReclaim(new Write(0, 2, 16, true)),
                new Write(1, 35, 13, true),
                new Write(0, 0, 16, true),
                new Read(1, 13),
                new DuringReclaim(new Invalidate(0, 2, 2)),
                new Write(1, 1, 1, true),
                new Write(0, 53, 16, true),
                new Invalidate(0, 5, 39),
                new Write(1, 59, 2, false),
                new Flush(0),
                new DuringReclaim(new Write(0, 1, 2, false)),
                new Write(1, 118, 15, true),
                new Clean(2),
                new Write(0, 29, 6, false),
                new CrashDuringWrite(new Write(0, 37, 16, true), -1240L),
                new Write(1, 16, 5, false),
                new DuringReclaim(new Invalidate(1, 43, 35)),
                new Flush(1),
                new Read(0, 51),
                new Read(0, 37),
                new Read(1, 35),
                new Destage(0, 1),
                new Write(1, 24, 6, true),
                new Read(0, 2),
                new Write(0, 0, 2, false),
                new Destage(1, 7),
                new Write(0, 34, 10, true),
                new Write(1, 2, 1, false),
                new Write(0, 2, 16, false),
                new Write(1, 0, 1, true),
                new Destage(0, 5),
                new DuringReclaim(new Write(0, 0, 16, false)),
                new Read(0, 119),
                new Invalidate(0, 2, 37),
                new DuringReclaim(new Write(1, 9, 1, false)),
                new Invalidate(1, 0, 40),
                new Write(1, 77, 10, false),
                new Write(1, 0, 2, false),
                new Read(0, 118),
                new Flush(1),
                new Invalidate(1, 92, 12),
                new Write(1, 0, 16, true),
                new DuringReclaim(new Write(1, 66, 4, false)),
                new Read(0, 9),
                new Clean(1),
                new DuringReclaim(new Write(0, 63, 3, false)),
                new Write(1, 89, 1, false),
                new Write(0, 32, 8, true),
                new CrashDuringWrite(new Write(1, 30, 15, true), 2647L),
                new Invalidate(0, 118, 40),
                new Flush(1),
                new Write(0, 118, 1, true));
        EngineModelPropertiesTest.check(actions, 8, 90);
    }
}
