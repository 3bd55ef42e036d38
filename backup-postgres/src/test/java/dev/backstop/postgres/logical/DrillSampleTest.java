package dev.backstop.postgres.logical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.Fingerprints;
import dev.backstop.core.TableFingerprint;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class DrillSampleTest {
    static Fingerprints tables(int n, Map<String, String> objects) {
        Map<String, TableFingerprint> t = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            t.put("public.t" + i, new TableFingerprint(i, "c:x"));
        }
        return new Fingerprints("sha256:x", t, objects);
    }

    @Test
    void cycle_isTheRunsNeededToCoverEveryTable() {
        assertThat(DrillSample.cycle(0.1)).isEqualTo(10);
        assertThat(DrillSample.cycle(0.3)).isEqualTo(4);
        assertThat(DrillSample.cycle(0.5)).isEqualTo(2);
        assertThat(DrillSample.cycle(1)).isEqualTo(1);
    }

    @Test
    void everyTable_isInOneRoundOfTheCycle_andKeepsItsGroupWhenOtherTablesAppear() {
        Fingerprints f = tables(200, Map.of());
        Set<String> seen = new HashSet<>();
        int total = 0;
        for (int round = 0; round < 10; round++) {
            Set<String> s = DrillSample.draw(f, 0.1, round).tables();
            total += s.size();
            seen.addAll(s);
        }
        assertThat(seen).isEqualTo(f.tables().keySet());
        assertThat(total).isEqualTo(200);
        assertThat(DrillSample.draw(tables(300, Map.of()), 0.1, 3).tables()).containsAll(DrillSample.draw(f, 0.1, 3).tables());
    }

    @Test
    void aSampledTable_bringsTheTablesItsForeignKeysReference_andTheirPartitions() {
        Fingerprints plain = tables(20, Map.of());
        String child = DrillSample.draw(plain, 0.25, 0).tables().iterator().next();
        String parent = plain.tables().keySet().stream().filter(t -> DrillSample.group(t, 4) != 0).findFirst().orElseThrow();
        Map<String, TableFingerprint> withParts = new TreeMap<>(plain.tables());
        withParts.put("public.part_1", new TableFingerprint(1, "c:x"));
        Fingerprints f = new Fingerprints("sha256:x", withParts, Map.of(
                "constraint " + child + ".fk", "definition:ab references=" + parent,
                "constraint " + parent + ".fk2", "definition:ab references=public.parted",
                "table public.part_1", "persistence=permanent partition_of=public.parted"));

        assertThat(DrillSample.draw(f, 0.25, 0).tables()).contains(child, parent, "public.part_1");
    }

    @Test
    void restrict_keepsEveryObjectProof_andOnlyTheSampledTables() {
        Fingerprints f = tables(4, Map.of("trigger public.t0.x", "definition:ab"));
        DrillSample s = new DrillSample(Set.of("public.t1"), 0, 2);

        assertThat(s.restrict(f).tables()).containsOnlyKeys("public.t1");
        assertThat(s.restrict(f).objects()).isEqualTo(f.objects());
        assertThat(s.measurements()).containsEntry("coverage", "sampled").containsEntry("sample_tables", "1");
    }

    @Test
    void sample_outsideZeroToOne_isRefusedStatingTheBound() {
        assertThatThrownBy(() -> RestoreDrill.builder().sample(0)).hasMessage("sample: got 0.0, must be in (0, 1]");
        assertThatThrownBy(() -> RestoreDrill.builder().sample(1.5)).hasMessageContaining("must be in (0, 1]");
    }

    @Test
    void aPgRestoreList_keepsTheDataOfTheSampledTablesOnly_matchingNamesWithSpaces() {
        List<String> list = List.of(";", "; Archive created at 2026-01-01", "215; 1259 16390 TABLE public orders app",
                "3370; 0 16390 TABLE DATA public orders app", "3371; 0 16400 TABLE DATA Odd Schema Mixed Case app",
                "3372; 0 16410 TABLE DATA public audit app", "3373; 0 0 SEQUENCE SET public orders_id_seq app");

        assertThat(SpooledRestore.withDataOnlyOf(list, Set.of("public.orders", "Odd Schema.Mixed Case"))).containsExactly(
                ";", "; Archive created at 2026-01-01", "215; 1259 16390 TABLE public orders app",
                "3370; 0 16390 TABLE DATA public orders app", "3371; 0 16400 TABLE DATA Odd Schema Mixed Case app",
                ";3372; 0 16410 TABLE DATA public audit app", "3373; 0 0 SEQUENCE SET public orders_id_seq app");
    }
}
