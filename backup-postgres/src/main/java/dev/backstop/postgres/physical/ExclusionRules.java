package dev.backstop.postgres.physical;

import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which entries of a live data directory a base backup leaves out, after the lists in
 * PostgreSQL's {@code basebackup.c} (PostgreSQL 15): what the server removes, recreates or
 * rebuilds at start-up, what belongs to the running postmaster, and unlogged and temporary
 * relations, whose contents are reset by crash recovery anyway. Like PostgreSQL, names match in
 * any directory, not only at the root.
 */
final class ExclusionRules {
    /** Directories kept (as empty directories, for their permissions) whose contents are skipped. */
    private static final Set<String> CONTENTS_EXCLUDED = Set.of("pg_stat_tmp", "pg_replslot", "pg_dynshmem", "pg_notify",
            "pg_serial", "pg_snapshots", "pg_subtrans");
    /** Files skipped by exact name: rewritten by the server or by the backup itself. */
    private static final Set<String> FILES_EXCLUDED = Set.of("postgresql.auto.conf.tmp", "current_logfiles.tmp",
            "backup_label", "tablespace_map", "backup_manifest", "postmaster.pid", "postmaster.opts");
    /** pg_internal.init and its temporary copies (pg_internal.init.PID). */
    private static final String RELCACHE_INIT = "pg_internal.init";
    private static final String TEMP_PREFIX = "pgsql_tmp";
    /** A relation file: relfilenode, optional fork, optional segment number. */
    private static final Pattern RELATION = Pattern.compile("(\\d+)(_(?:fsm|vm|init))?(\\.\\d+)?");
    /** A temporary relation's file: t&lt;backend&gt;_&lt;relfilenode&gt;, optional fork and segment. */
    private static final Pattern TEMP_RELATION = Pattern.compile("t\\d+_\\d+(_(?:fsm|vm|init))?(\\.\\d+)?");
    private static final Pattern DB_DIR = Pattern.compile("base/\\d+");

    private ExclusionRules() {
    }

    /** Whether an entry called {@code name} (file or directory) is left out wherever it is. */
    static boolean excluded(String name) {
        return FILES_EXCLUDED.contains(name) || name.startsWith(RELCACHE_INIT) || name.startsWith(TEMP_PREFIX);
    }

    /** Whether the directory called {@code name} is written as an empty directory. */
    static boolean contentsExcluded(String name) {
        return CONTENTS_EXCLUDED.contains(name);
    }

    /** Whether {@code relativeDir} (such as {@code base/5}) holds a database's relations. */
    static boolean isDatabaseDirectory(String relativeDir) {
        return DB_DIR.matcher(relativeDir).matches();
    }

    /**
     * Whether the file {@code name} in a database directory whose entries are {@code siblings}
     * is left out: a temporary relation, or a fork other than the init fork of an unlogged
     * relation (one that has a {@code <relfilenode>_init} file).
     */
    static boolean excludedRelationFile(String name, Set<String> siblings) {
        if (TEMP_RELATION.matcher(name).matches()) {
            return true;
        }
        Matcher m = RELATION.matcher(name);
        if (!m.matches() || "_init".equals(m.group(2))) {
            return false;
        }
        return siblings.contains(m.group(1) + "_init");
    }
}
