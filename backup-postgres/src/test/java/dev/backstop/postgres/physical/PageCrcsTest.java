package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.PageFilter.PAGE;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.zip.CRC32C;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class PageCrcsTest {

    @Property(tries = 200)
    void append_ofAPagesCrc_equalsTheCrcOfTheBytesFollowedByThePage(@ForAll @IntRange(min = 0, max = 3 * PAGE) int before,
            @ForAll long seed) {
        Random r = new Random(seed);
        byte[] head = new byte[before];
        byte[] page = new byte[PAGE];
        r.nextBytes(head);
        r.nextBytes(page);
        byte[] both = new byte[before + PAGE];
        System.arraycopy(head, 0, both, 0, before);
        System.arraycopy(page, 0, both, before, PAGE);

        assertThat(PageCrcs.append(crc(head), crc(page))).isEqualTo(crc(both));
    }

    @Property(tries = 50)
    void of_thePagesCrcs_equalsTheCrcOfTheWholeFile(@ForAll @IntRange(min = 0, max = 40) int pages, @ForAll long seed) {
        Random r = new Random(seed);
        byte[] file = new byte[pages * PAGE];
        r.nextBytes(file);
        if (pages > 1) {
            // runs of zeros and of equal pages must not cancel out
            java.util.Arrays.fill(file, 0, PAGE, (byte) 0);
            System.arraycopy(file, PAGE, file, 0, PAGE);
        }
        int[] crcs = new int[pages];
        for (int p = 0; p < pages; p++) {
            CRC32C c = new CRC32C();
            c.update(file, p * PAGE, PAGE);
            crcs[p] = (int) c.getValue();
        }

        assertThat(PageCrcs.of(crcs, pages)).isEqualTo(crc(file));
    }

    @Test
    void of_noPages_isTheCrcOfNoBytes() {
        assertThat(PageCrcs.of(new int[0], 0)).isEqualTo(crc(new byte[0])).isZero();
    }

    @Test
    void append_seesWhichPageCameFirst() {
        byte[] a = new byte[PAGE];
        byte[] b = new byte[PAGE];
        a[0] = 1;
        b[PAGE - 1] = 1;
        int ab = PageCrcs.append(PageCrcs.append(0, crc(a)), crc(b));
        int ba = PageCrcs.append(PageCrcs.append(0, crc(b)), crc(a));

        assertThat(ab).isNotEqualTo(ba);
    }

    private static int crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b, 0, b.length);
        return (int) c.getValue();
    }
}
