package dev.backstop.mysql.recovery;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.Stage;

/**
 * The binlog archive does not hold every transaction from a backup's point to a {@link
 * RecoveryTarget}: it ends before the target, or a file on the way is missing (a gap, or the
 * backup's start file). Thrown by {@link BinlogRecovery#prepare} (and the methods that call it)
 * before any server is touched, so the intended target is as it was. Not retryable in itself;
 * it may pass once the binlogs up to the target are archived.
 */
public final class TargetNotReachedException extends BackupException {
    private static final long serialVersionUID = 1L;

    TargetNotReachedException(String message, BackupId backupId) {
        super(Stage.RESTORE, message, null, false, backupId);
    }
}
