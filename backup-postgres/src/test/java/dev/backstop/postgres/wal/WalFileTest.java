package dev.backstop.postgres.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class WalFileTest {

    @Test
    void parse_segment_knowsTimelineAndPositions() {
        WalFile f = WalFile.parse("0000000200000001000000FF");

        assertThat(f.kind()).isEqualTo(WalFile.Kind.SEGMENT);
        assertThat(f.timeline()).isEqualTo(2);
        assertThat(f.startLsn()).isEqualTo(0x1FF000000L);
        assertThat(f.next().name()).isEqualTo("000000020000000200000000");
    }

    @Test
    void segmentOf_lsn_namesTheSegmentHoldingIt() {
        assertThat(WalFile.segmentOf(1, WalFile.parseLsn("0/3000028")).name()).isEqualTo("000000010000000000000003");
        assertThat(WalFile.segmentOf(1, WalFile.parseLsn("1/0")).name()).isEqualTo("000000010000000100000000");
    }

    @Test
    void parse_partialAndHistory() {
        assertThat(WalFile.parse("000000010000000000000003.partial").kind()).isEqualTo(WalFile.Kind.PARTIAL);
        assertThat(WalFile.parse("0000000A.history").timeline()).isEqualTo(10);
        assertThat(WalFile.historyOf(3).name()).isEqualTo("00000003.history");
        WalFile backup = WalFile.parse("000000010000000000000003.00000150.backup");
        assertThat(backup.kind()).isEqualTo(WalFile.Kind.BACKUP);
        assertThat(backup.isSegment()).isFalse();
    }

    @Test
    void parse_rejectsLowerCaseTimelineZeroAndSegmentPastRange() {
        assertThatThrownBy(() -> WalFile.parse("00000001000000000000000a")).hasMessageContaining("24 upper-case hex");
        assertThatThrownBy(() -> WalFile.parse("000000000000000000000003")).hasMessageContaining("timeline 0");
        assertThatThrownBy(() -> WalFile.parse("000000010000000000000100")).hasMessageContaining("past ff");
    }

    @Test
    void lsn_roundTripsAndRejectsGarbage() {
        assertThat(WalFile.formatLsn(WalFile.parseLsn("16/B374D848"))).isEqualTo("16/B374D848");
        assertThatThrownBy(() -> WalFile.parseLsn("16B374D848")).hasMessageContaining("'16B374D848'");
        assertThatThrownBy(() -> WalFile.parseLsn("1/123456789")).hasMessageContaining("at most 8 digits");
    }
}
