package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class PageFilterTest {

    /** A page whose header holds {@code lsn} as PostgreSQL writes it on a little-endian machine. */
    static byte[] pageWithLsn(long lsn) {
        byte[] page = new byte[PageFilter.PAGE];
        int high = (int) (lsn >>> 32);
        int low = (int) lsn;
        for (int i = 0; i < 4; i++) {
            page[i] = (byte) (high >>> (8 * i));
            page[4 + i] = (byte) (low >>> (8 * i));
        }
        page[100] = 1; // contents besides the header
        return page;
    }

    @Property
    void lsn_readsBothHalvesOfPdLsn(@ForAll long lsn) {
        assertThat(PageFilter.lsn(pageWithLsn(lsn), 0)).isEqualTo(lsn);
    }

    @Property
    void copied_exactlyWhenTheLsnIsZeroOrAtOrAfterTheThreshold(@ForAll long lsn, @ForAll long threshold) {
        boolean expected = lsn == 0 || Long.compareUnsigned(lsn, threshold) >= 0;
        assertThat(PageFilter.copied(lsn, threshold)).isEqualTo(expected);
    }

    @Test
    void copied_ofAPageAtTheThreshold_isTrueAndJustBeforeIsFalse() {
        long start = 0x1_6000_0028L;
        assertThat(PageFilter.copied(PageFilter.lsn(pageWithLsn(start), 0), start)).isTrue();
        assertThat(PageFilter.copied(PageFilter.lsn(pageWithLsn(start - 1), 0), start)).isFalse();
        assertThat(PageFilter.copied(PageFilter.lsn(new byte[PageFilter.PAGE], 0), start)).as("an all-zero page").isTrue();
    }

    @Test
    void copied_ofAnLsnAboveTwoToThe63_comparesUnsigned() {
        assertThat(PageFilter.copied(0x8000_0000_0000_0000L, 0x7FFF_FFFF_FFFF_FFFFL)).isTrue();
        assertThat(PageFilter.copied(0x7FFF_FFFF_FFFF_FFFFL, 0x8000_0000_0000_0000L)).isFalse();
    }

    @Test
    void paged_onlyForMainForkSegmentsOfRelations() {
        assertThat(PageFilter.paged("base/5/16384")).isTrue();
        assertThat(PageFilter.paged("base/5/16384.1")).isTrue();
        assertThat(PageFilter.paged("global/1262")).isTrue();
        assertThat(PageFilter.paged("pg_tblspc/16400/PG_15_202209061/5/16401")).isTrue();
        assertThat(PageFilter.paged("base/5/16384_fsm")).as("free space map: not WAL-logged").isFalse();
        assertThat(PageFilter.paged("base/5/16384_vm")).as("visibility map: clears do not set its LSN").isFalse();
        assertThat(PageFilter.paged("base/5/16384_init")).isFalse();
        assertThat(PageFilter.paged("base/5/PG_VERSION")).isFalse();
        assertThat(PageFilter.paged("base/5/pg_filenode.map")).isFalse();
        assertThat(PageFilter.paged("global/pg_control")).isFalse();
        assertThat(PageFilter.paged("pg_xact/0000")).as("commit log: copied whole").isFalse();
        assertThat(PageFilter.paged("pg_multixact/offsets/0000")).isFalse();
        assertThat(PageFilter.paged("16384")).isFalse();
        assertThat(PageFilter.paged("base/16384")).isFalse();
    }
}
