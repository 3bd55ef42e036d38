package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Example;

class RowHashProperties {

    private static byte[] s(String v) {
        return v == null ? null : v.getBytes(StandardCharsets.UTF_8);
    }

    @Example
    void valuesThatCollatedComparisonOrLooseParsingConfuse_hashDifferently() {
        String[][] pairs = {
                {"1.50", "1.5"}, {"0", "-0"}, {"0.0", "-0.0"}, {"a", "a "}, {"", null}, {"0x", "0x00"}, {"00", "0000"},
                {"2024-01-02 03:04:05", "2024-01-02 03:04:05.000000"}, {"NULL", null}, {"1e300", "1E300"},
        };
        for (String[] p : pairs) {
            assertThat(RowHash.of(s(p[0]))).as("%s vs %s", p[0], p[1]).isNotEqualTo(RowHash.of(s(p[1])));
        }
    }

    @Example
    void columnBoundaries_areNotAmbiguous() {
        assertThat(RowHash.of(s("ab"), s("c"))).isNotEqualTo(RowHash.of(s("a"), s("bc")));
        assertThat(RowHash.of(s(""), null)).isNotEqualTo(RowHash.of(null, s("")));
        assertThat(RowHash.of(s("a"))).isNotEqualTo(RowHash.of(s("a"), null));
    }

    @Provide
    Arbitrary<List<String>> rows() {
        Arbitrary<String> value = Arbitraries.oneOf(
                Arbitraries.strings().withChars("01.- e\0aA").ofMaxLength(6),
                Arbitraries.just(null));
        return value.list().ofMaxSize(4);
    }

    @Property(tries = 2000, seed = "42")
    void distinctRows_haveDistinctEncodings_soDistinctHashes(@ForAll("rows") List<String> a, @ForAll("rows") List<String> b) {
        if (a.equals(b)) {
            assertThat(hash(a)).isEqualTo(hash(b));
        } else {
            assertThat(hash(a)).isNotEqualTo(hash(b));
        }
    }

    private static long hash(List<String> row) {
        List<byte[]> values = new ArrayList<>();
        for (String v : row) {
            values.add(s(v));
        }
        return RowHash.of(values.toArray(new byte[0][]));
    }
}
