package dev.backstop.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class CopyLineHashTest {

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Vectors computed with an independent implementation of the documented definition. */
    @Test
    void hashLine_ofFixedVectors_matchesTheDocumentedDefinition() {
        assertThat(CopyLineHash.hashLine(utf8(""))).isEqualTo(0xef46db3751d8e999L);
        assertThat(CopyLineHash.hashLine(utf8("a"))).isEqualTo(0xa819bb62fcc1cba1L);
        assertThat(CopyLineHash.hashLine(utf8("abcdefgh"))).isEqualTo(0xe69c5681b8bd02e0L);
        assertThat(CopyLineHash.hashLine(utf8("abcdefghi"))).isEqualTo(0x252f9c09e89984a2L);
        assertThat(CopyLineHash.hashLine(utf8("1\tfoo\t\\N"))).isEqualTo(0x88147fddb4bc42a6L);
        assertThat(CopyLineHash.hashLine(utf8("ünïcødé\t{\"a\": [1, 2]}"))).isEqualTo(0x1b290cb05e61cabfL);
    }

    @Test
    void write_ofThreeLines_countsThemAndSumsTheirHashesModTwoToThe64() {
        CopyLineHash h = new CopyLineHash();
        byte[] text = utf8("1\tx\n2\ty\n\n");
        h.write(text, 0, text.length);
        h.close();

        assertThat(h.rows()).isEqualTo(3);
        assertThat(h.sum()).isEqualTo(0xf726e2d30b6aa138L);
    }

    @Test
    void write_ofAnEmptyStream_hasNoRowsAndSumZero() {
        CopyLineHash h = new CopyLineHash();
        h.write(new byte[0], 0, 0);
        h.close();

        assertThat(h.rows()).isZero();
        assertThat(h.sum()).isZero();
    }

    @Test
    void carriageReturn_isAnOrdinaryByte_soCrlfLinesHashWithTheirCr() {
        CopyLineHash h = new CopyLineHash();
        byte[] text = utf8("abc\r\n");
        h.write(text, 0, text.length);
        h.close();

        assertThat(h.rows()).isEqualTo(1);
        assertThat(h.sum()).isEqualTo(CopyLineHash.hashLine(utf8("abc\r"))).isNotEqualTo(CopyLineHash.hashLine(utf8("abc")));
    }

    @Test
    void finalLineWithoutNewline_countsAsALineOnClose_andCloseTwiceChangesNothing() {
        CopyLineHash h = new CopyLineHash();
        byte[] text = utf8("first\nno newline at the end");
        h.write(text, 0, text.length);
        h.close();
        h.close();

        assertThat(h.rows()).isEqualTo(2);
        assertThat(h.sum()).isEqualTo(CopyLineHash.hashLine(utf8("first"))
                + CopyLineHash.hashLine(utf8("no newline at the end")));
    }

    @Test
    void zeroExtendedTail_doesNotMakeLinesThatDifferOnlyInTrailingZeroBytesAlike() {
        assertThat(CopyLineHash.hashLine(new byte[] {'a'})).isNotEqualTo(CopyLineHash.hashLine(new byte[] {'a', 0}));
        assertThat(CopyLineHash.hashLine(new byte[8])).isNotEqualTo(CopyLineHash.hashLine(new byte[7]));
    }

    @Test
    void aLineSplitOverOneToManyWrites_hashesLikeTheWholeLine_atEveryCut() {
        byte[] text = utf8("0123456789abcdefghij\tü\\n\t\\N\n\nxy\n");
        CopyLineHash whole = new CopyLineHash();
        whole.write(text, 0, text.length);
        whole.close();
        for (int pieces = 1; pieces <= text.length; pieces++) {
            for (int seed = 0; seed < 20; seed++) {
                CopyLineHash split = new CopyLineHash();
                for (byte[] piece : cut(text, pieces, new Random(seed))) {
                    split.write(piece, 0, piece.length);
                }
                split.close();
                assertThat(split.rows()).as("%d pieces, seed %d", pieces, seed).isEqualTo(3);
                assertThat(split.sum()).as("%d pieces, seed %d", pieces, seed).isEqualTo(whole.sum());
            }
        }
    }

    @Test
    void write_atAnOffsetInALargerArray_readsOnlyTheGivenRange() {
        byte[] padded = utf8("XXXXXXXXXhello world\nYYYYYYYY");
        CopyLineHash h = new CopyLineHash();
        h.write(padded, 9, 12);
        h.close();

        assertThat(h.rows()).isEqualTo(1);
        assertThat(h.sum()).isEqualTo(CopyLineHash.hashLine(utf8("hello world")));
    }

    @Property(tries = 300)
    void sum_isTheSameForAnyOrderOfLinesAndAnyCutOfTheStream(@ForAll @Size(max = 40) List<@Size(max = 70) String> lines,
                                                              @ForAll @IntRange(min = 1, max = 64) int pieces,
                                                              @ForAll long seed) {
        List<String> clean = new ArrayList<>();
        for (String l : lines) {
            clean.add(l.replace('\n', ' '));
        }
        CopyLineHash inOrder = hashAll(clean, 1, seed);
        List<String> shuffled = new ArrayList<>(clean);
        Collections.shuffle(shuffled, new Random(seed));
        CopyLineHash reordered = hashAll(shuffled, pieces, seed);

        long expected = 0;
        for (String l : clean) {
            expected += CopyLineHash.hashLine(utf8(l));
        }
        assertThat(inOrder.rows()).isEqualTo(reordered.rows()).isEqualTo(clean.size());
        assertThat(inOrder.sum()).isEqualTo(reordered.sum()).isEqualTo(expected);
    }

    private static CopyLineHash hashAll(List<String> lines, int pieces, long seed) {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        for (String l : lines) {
            text.writeBytes(utf8(l + "\n"));
        }
        CopyLineHash h = new CopyLineHash();
        for (byte[] piece : cut(text.toByteArray(), pieces, new Random(seed))) {
            h.write(piece, 0, piece.length);
        }
        h.close();
        return h;
    }

    /** {@code data} in {@code pieces} consecutive pieces at random cuts (some may be empty). */
    private static List<byte[]> cut(byte[] data, int pieces, Random random) {
        List<Integer> cuts = new ArrayList<>();
        for (int i = 1; i < pieces; i++) {
            cuts.add(random.nextInt(data.length + 1));
        }
        Collections.sort(cuts);
        cuts.add(data.length);
        List<byte[]> out = new ArrayList<>();
        int from = 0;
        for (int to : cuts) {
            out.add(java.util.Arrays.copyOfRange(data, from, to));
            from = to;
        }
        return out;
    }
}
