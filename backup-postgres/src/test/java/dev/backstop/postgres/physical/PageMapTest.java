package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

class PageMapTest {

    @Property
    void header_readsBackThePagesItWasWrittenWith(@ForAll @Size(max = PageMap.WINDOW_PAGES) Set<@IntRange(min = 0, max = 1 << 30) Integer> pages,
            @ForAll @IntRange(min = 0, max = 1 << 30) int filePages) throws IOException {
        int[] sorted = new TreeSet<>(pages).stream().mapToInt(Integer::intValue).toArray();
        byte[] out = new byte[PageMap.headerBytes(PageMap.WINDOW_PAGES) + 7];
        int len = PageMap.writeHeader(out, filePages, sorted, sorted.length);
        assertThat(len).isEqualTo(PageMap.headerBytes(sorted.length));
        ByteArrayInputStream in = new ByteArrayInputStream(out, 0, len + 7);
        PageMap m = PageMap.read(in, "e");
        assertThat(m.pages()).containsExactly(sorted);
        assertThat(m.filePages()).isEqualTo(filePages);
        assertThat(in.available()).as("positioned at the first page").isEqualTo(7);
    }

    @Property
    void pathOf_undoesEntryName(@ForAll @StringLength(min = 1, max = 20) String dir, @ForAll @IntRange(min = 1) int relfilenode) {
        String path = "base/" + dir.replace('/', '_') + "/" + relfilenode;
        assertThat(PageMap.pathOf(PageMap.entryName(path))).isEqualTo(path);
        assertThat(PageMap.pathOf(path)).as("a plain file is no page map").isNull();
    }

    @Test
    void entryName_prefixesTheFileName() {
        assertThat(PageMap.entryName("base/5/16384.2")).isEqualTo("base/5/INCREMENTAL.16384.2");
        assertThat(PageMap.pathOf("base/5/INCREMENTAL.")).isNull();
    }

    @Test
    void read_ofAnotherMagic_failsNamingTheEntry() {
        byte[] out = new byte[12];
        assertThatThrownBy(() -> PageMap.read(new ByteArrayInputStream(out), "base/5/INCREMENTAL.1"))
                .isInstanceOf(IOException.class).hasMessageContaining("base/5/INCREMENTAL.1").hasMessageContaining("magic");
    }

    @Test
    void read_ofPagesNotAscending_isRefused() {
        byte[] out = new byte[PageMap.headerBytes(2)];
        java.nio.ByteBuffer.wrap(out).putInt(PageMap.MAGIC).putInt(10).putInt(2).putInt(5).putInt(5);
        assertThatThrownBy(() -> PageMap.read(new ByteArrayInputStream(out), "x")).isInstanceOf(IOException.class)
                .hasMessageContaining("ascending");
    }

    @Test
    void read_ofMoreThanAWindowOfPages_isRefused() {
        byte[] out = new byte[12];
        java.nio.ByteBuffer.wrap(out).putInt(PageMap.MAGIC).putInt(10).putInt(PageMap.WINDOW_PAGES + 1);
        assertThatThrownBy(() -> PageMap.read(new ByteArrayInputStream(out), "x")).isInstanceOf(IOException.class)
                .hasMessageContaining("at most " + PageMap.WINDOW_PAGES);
    }

    @Test
    void read_ofATruncatedHeader_fails() {
        byte[] out = new byte[PageMap.headerBytes(3)];
        java.nio.ByteBuffer.wrap(out).putInt(PageMap.MAGIC).putInt(10).putInt(3).putInt(1).putInt(2).putInt(3);
        assertThatThrownBy(() -> PageMap.read(new ByteArrayInputStream(Arrays.copyOf(out, out.length - 1)), "x"))
                .isInstanceOf(IOException.class);
    }
}
