package dev.backstop.core.log;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.Repository;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.UniqueElements;

/** Ordering and continuity of the log archive, whatever the order files arrive in. */
class LogContinuityProperties {

    @Property(tries = 25, seed = "20261207")
    void filesSortByName_andGapsAreExactlyTheMissingRuns(@ForAll @Size(min = 1, max = 12) @UniqueElements
                                                         List<@IntRange(min = 0, max = 30) Integer> numbers,
                                                         @ForAll long shuffleSeed) throws IOException {
        Path root = Files.createTempDirectory("log-props");
        try {
            LogStore logs = LogStore.builder(Repository.filesystem(root), FakeEngine.STREAM, FakeEngine.NAMING).build();
            List<Integer> arrival = new ArrayList<>(numbers);
            Collections.shuffle(arrival, new Random(shuffleSeed));
            for (int n : arrival) {
                FakeEngine.put(logs, FakeEngine.file(n), FakeEngine.bytes(n, 64));
            }

            Set<Integer> sorted = new TreeSet<>(numbers);
            assertThat(logs.files()).extracting(LogFile::name)
                    .containsExactlyElementsOf(sorted.stream().map(n -> FakeEngine.file(n).name()).toList());
            List<String> expected = new ArrayList<>();
            Integer previous = null;
            for (int n : sorted) {
                if (previous != null && n > previous + 1) {
                    expected.add(previous * FakeEngine.SPAN + FakeEngine.SPAN + "-" + n * FakeEngine.SPAN);
                }
                previous = n;
            }
            assertThat(logs.gaps()).extracting(g -> g.start() + "-" + g.end()).containsExactlyElementsOf(expected);
        } finally {
            try (var walk = Files.walk(root)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                    try {
                        Files.delete(p);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            }
        }
    }

    @Property(tries = 200, seed = "20261207")
    void deltaRun_reachesExactlyToTheFirstMissingCut(@ForAll @Size(min = 1, max = 10) @UniqueElements
                                                     List<@IntRange(min = 1, max = 1000) Integer> cutPoints,
                                                     @ForAll @IntRange(min = -1, max = 10) int missing) {
        List<Integer> cuts = new ArrayList<>(new TreeSet<>(cutPoints));
        cuts.add(0, 0);
        List<LogDelta> deltas = new ArrayList<>();
        for (int i = 0; i + 1 < cuts.size(); i++) {
            if (i != missing) {
                deltas.add(new LogDelta("d" + i, cuts.get(i), cuts.get(i + 1)));
            }
        }
        Collections.reverse(deltas);

        DeltaRun run = DeltaRun.of(deltas);

        boolean holeInside = missing >= 0 && missing < cuts.size() - 1;
        long expectedEnd = holeInside ? cuts.get(missing) : cuts.get(cuts.size() - 1);
        assertThat(run.end()).isEqualTo(expectedEnd);
        for (int i = 0; i < run.chain().size(); i++) {
            assertThat(run.chain().get(i).from()).isEqualTo(i == 0 ? 0 : run.chain().get(i - 1).to());
        }
        assertThat(run.hasGap()).isEqualTo(holeInside && missing < cuts.size() - 2);
        assertThat(run.chain().size() + run.stranded().size()).isEqualTo(deltas.size());
    }
}
