package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

class ExclusionRulesTest {
    @Test
    void excluded_coversThePostmasterFilesRelcacheInitAndTempFiles_butNotOrdinaryFiles() {
        assertThat(ExclusionRules.excluded("postmaster.pid")).isTrue();
        assertThat(ExclusionRules.excluded("postmaster.opts")).isTrue();
        assertThat(ExclusionRules.excluded("pg_internal.init")).isTrue();
        assertThat(ExclusionRules.excluded("pg_internal.init.12345")).isTrue();
        assertThat(ExclusionRules.excluded("pgsql_tmp")).isTrue();
        assertThat(ExclusionRules.excluded("pgsql_tmp4711.0")).isTrue();
        assertThat(ExclusionRules.excluded("backup_label")).isTrue();
        assertThat(ExclusionRules.excluded("backup_manifest")).isTrue();
        assertThat(ExclusionRules.excluded("postgresql.auto.conf.tmp")).isTrue();
        assertThat(ExclusionRules.excluded("postgresql.auto.conf")).isFalse();
        assertThat(ExclusionRules.excluded("PG_VERSION")).isFalse();
        assertThat(ExclusionRules.excluded("backup_label.old")).isFalse();
        assertThat(ExclusionRules.excluded("16384")).isFalse();
    }

    @Test
    void contentsExcluded_namesTheDirectoriesTheServerResetsAtStart() {
        for (String d : new String[] {"pg_stat_tmp", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots",
                "pg_subtrans"}) {
            assertThat(ExclusionRules.contentsExcluded(d)).as(d).isTrue();
        }
        assertThat(ExclusionRules.contentsExcluded("pg_xact")).isFalse();
        assertThat(ExclusionRules.contentsExcluded("pg_stat")).isFalse();
    }

    @Test
    void excludedRelationFile_dropsEveryForkAndSegmentOfAnUnloggedRelation_butItsInitFork() {
        Set<String> dir = Set.of("16384", "16384_init", "16384_fsm", "16384_vm", "16384.1", "16390", "16390_fsm");
        assertThat(ExclusionRules.excludedRelationFile("16384", dir)).isTrue();
        assertThat(ExclusionRules.excludedRelationFile("16384_fsm", dir)).isTrue();
        assertThat(ExclusionRules.excludedRelationFile("16384_vm", dir)).isTrue();
        assertThat(ExclusionRules.excludedRelationFile("16384.1", dir)).isTrue();
        assertThat(ExclusionRules.excludedRelationFile("16384_init", dir)).isFalse();
        assertThat(ExclusionRules.excludedRelationFile("16390", dir)).isFalse();
        assertThat(ExclusionRules.excludedRelationFile("16390_fsm", dir)).isFalse();
        assertThat(ExclusionRules.excludedRelationFile("PG_VERSION", dir)).isFalse();
    }

    @Test
    void excludedRelationFile_dropsTemporaryRelations() {
        assertThat(ExclusionRules.excludedRelationFile("t3_16400", Set.of())).isTrue();
        assertThat(ExclusionRules.excludedRelationFile("t3_16400_fsm", Set.of())).isTrue();
        assertThat(ExclusionRules.excludedRelationFile("t3_16400.2", Set.of())).isTrue();
        assertThat(ExclusionRules.excludedRelationFile("t3x_16400", Set.of())).isFalse();
    }

    @Test
    void isDatabaseDirectory_isOnlyANumericDirectoryUnderBase() {
        assertThat(ExclusionRules.isDatabaseDirectory("base/5")).isTrue();
        assertThat(ExclusionRules.isDatabaseDirectory("base")).isFalse();
        assertThat(ExclusionRules.isDatabaseDirectory("global")).isFalse();
        assertThat(ExclusionRules.isDatabaseDirectory("base/pgsql_tmp")).isFalse();
        assertThat(ExclusionRules.isDatabaseDirectory("x/base/5")).isFalse();
    }
}
