package dev.backstop.mysql.binlog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.log.LogFile;
import org.junit.jupiter.api.Test;

class BinlogArchiveTest {

    @Test
    void file_ofABinlogName_hasItsBaseNameAsEpochAndItsNumberAsPosition() {
        LogFile f = BinlogArchive.file("mysql-bin.000042");

        assertThat(f.epoch()).isEqualTo("mysql-bin");
        assertThat(f.name()).isEqualTo("mysql-bin.000042");
        assertThat(f.start()).isEqualTo(42);
        assertThat(f.end()).isEqualTo(43);
    }

    @Test
    void file_ofABaseNameWithDots_keepsTheDotsInTheEpoch() {
        assertThat(BinlogArchive.file("db1.bin.000007").epoch()).isEqualTo("db1.bin");
    }

    @Test
    void file_ofNamesThatAreNotBinlogs_isRefusedSayingWhatNamesLookLike() {
        for (String bad : new String[] {"binlog.00001", "binlog.index", "binlog", ".binlog.000001", "binlog.000001.meta", "a/b.000001"}) {
            assertThatThrownBy(() -> BinlogArchive.file(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("<basename>.NNNNNN");
        }
    }

    @Test
    void next_keepsTheWidth_andWidensPastItsLargestNumber() {
        assertThat(BinlogArchive.next("binlog.000001")).isEqualTo("binlog.000002");
        assertThat(BinlogArchive.next("binlog.000999")).isEqualTo("binlog.001000");
        assertThat(BinlogArchive.next("binlog.999999")).isEqualTo("binlog.1000000");
    }

    @Test
    void names_ofOneBaseName_sortInTheOrderOfTheirNumbers() {
        assertThat(BinlogArchive.file("binlog.000009")).isLessThan(BinlogArchive.file("binlog.000010"));
        assertThat(BinlogArchive.file("binlog.999999").start()).isLessThan(BinlogArchive.file("binlog.1000000").start());
    }
}
