package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MariaDbRestoreTest {
    @Test
    void aDeadlockOrALockWaitTimeoutInALoadSession_isLoadedAgain() {
        assertThat(MariaDbRestore.transientLoadFailure("mariadb exited 1 in load session 2: (16484,52077,'4237')"
                + " --------------  ERROR 1213 (40001) at line 298204: Deadlock found when trying to get lock; try restarting"
                + " transaction")).isTrue();
        assertThat(MariaDbRestore.transientLoadFailure("mariadb exited 1 in load session 1: ERROR 1205 (HY000) at line 12: "
                + "Lock wait timeout exceeded; try restarting transaction")).isTrue();
    }

    @Test
    void anyOtherFailureOfALoadSession_failsTheRestoreAtOnce() {
        assertThat(MariaDbRestore.transientLoadFailure("mariadb exited 1 in load session 1: ERROR 1062 (23000) at line 40: "
                + "Duplicate entry '7' for key 'PRIMARY'")).isFalse();
        assertThat(MariaDbRestore.transientLoadFailure("mariadb exited 1 in load session 1: ERROR 1064 (42000) at line 3: "
                + "You have an error in your SQL syntax; near 'ERROR 12130 ('")).isFalse();
        assertThat(MariaDbRestore.transientLoadFailure("the dump ends inside a CREATE TABLE statement")).isFalse();
        assertThat(MariaDbRestore.transientLoadFailure(null)).isFalse();
    }
}
