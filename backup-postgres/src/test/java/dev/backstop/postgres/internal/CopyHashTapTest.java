package dev.backstop.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class CopyHashTapTest {

    /** A minimal pg_dump custom archive (format 1.14, as PostgreSQL 15 writes to a pipe). */
    static final class Archive {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Archive(int compression, String encoding, List<String[]> tables) {
            out.writeBytes("PGDMP".getBytes(StandardCharsets.US_ASCII));
            out.write(1);
            out.write(14);
            out.write(0);
            out.write(4);
            out.write(8);
            out.write(1);
            integer(compression);
            for (int i = 0; i < 7; i++) {
                integer(0);
            }
            str("db");
            str("15.0");
            str("15.0");
            integer(1 + tables.size());
            entry(1, "ENCODING", null, "ENCODING", "SET client_encoding = '" + encoding + "';\n", null);
            for (int i = 0; i < tables.size(); i++) {
                String[] t = tables.get(i);
                entry(2 + i, "TABLE DATA", t[0], t[1], "", "COPY " + t[0] + "." + t[1] + " (a) FROM stdin;\n");
            }
        }

        private void entry(int id, String desc, String namespace, String tag, String defn, String copyStmt) {
            integer(id);
            integer(1);
            str("0");
            str("0");
            str(tag);
            str(desc);
            integer(desc.equals("TABLE DATA") ? 3 : 2);
            str(defn);
            str("");
            str(copyStmt);
            str(namespace);
            str(null);
            str(null);
            str("owner");
            str("false");
            str(null);
            out.write(desc.equals("TABLE DATA") ? 1 : 3);
            out.writeBytes(new byte[8]);
        }

        /** A data block whose COPY text is cut into chunks at the given lengths (then the rest), plus COPY's end marker. */
        Archive block(int dumpId, String text, int... chunkLengths) {
            out.write(1);
            integer(dumpId);
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            int from = 0;
            for (int len : chunkLengths) {
                chunk(Arrays.copyOfRange(b, from, from + len));
                from += len;
            }
            if (from < b.length) {
                chunk(Arrays.copyOfRange(b, from, b.length));
            }
            chunk("\\.\n\n".getBytes(StandardCharsets.US_ASCII));
            integer(0);
            return this;
        }

        private void chunk(byte[] b) {
            integer(b.length);
            out.writeBytes(b);
        }

        private void integer(int v) {
            out.write(v < 0 ? 1 : 0);
            int a = Math.abs(v);
            for (int i = 0; i < 4; i++) {
                out.write((a >>> (8 * i)) & 0xff);
            }
        }

        private void str(String s) {
            if (s == null) {
                integer(-1);
                return;
            }
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            integer(b.length);
            out.writeBytes(b);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    private static void feed(CopyHashTap tap, byte[] archive, Random random) throws IOException {
        int off = 0;
        while (off < archive.length) {
            int n = Math.min(archive.length - off, 1 + random.nextInt(40));
            tap.write(archive, off, n);
            off += n;
        }
    }

    private static long sumOf(String... lines) {
        long s = 0;
        for (String l : lines) {
            s += CopyLineHash.hashLine(l.getBytes(StandardCharsets.UTF_8));
        }
        return s;
    }

    @Test
    void finish_afterAnArchiveFedInSmallPiecesThroughATinyPool_hashesEveryTablesCopyText() throws IOException {
        String orders = "1\tfirst row\n2\tü\\t\\\\N\n3\t\\N\n";
        byte[] archive = new Archive(0, "UTF8", List.of(new String[] {"shop", "orders"}, new String[] {"public", "empty"}))
                .block(2, orders, 3, 5, 1).block(3, "").bytes();
        try (CopyHashTap tap = new CopyHashTap(7, 2, "test")) {
            feed(tap, archive, new Random(1));
            Map<String, CopyHashTap.Table> tables = tap.finish();

            assertThat(tables).containsOnlyKeys("shop.orders", "public.empty");
            assertThat(tables.get("shop.orders")).isEqualTo(new CopyHashTap.Table(3,
                    sumOf("1\tfirst row", "2\tü\\t\\\\N", "3\t\\N")));
            assertThat(tables.get("public.empty")).isEqualTo(new CopyHashTap.Table(0, 0));
        }
    }

    @Test
    void finish_ofAnArchiveInAnotherEncoding_throwsNamingIt_afterTheWriterWasNeverHeldUp() throws IOException {
        byte[] archive = new Archive(0, "LATIN1", List.<String[]>of(new String[] {"public", "t"}))
                .block(2, "x\n".repeat(50_000)).bytes();
        try (CopyHashTap tap = new CopyHashTap(64, 2, "test")) {
            feed(tap, archive, new Random(2));

            assertThatThrownBy(tap::finish).isInstanceOf(IOException.class).hasMessageContaining("LATIN1");
        }
    }

    @Test
    void finish_ofACompressedArchive_throwsSayingSo() throws IOException {
        byte[] archive = new Archive(-1, "UTF8", List.of()).bytes();
        try (CopyHashTap tap = new CopyHashTap(1024, 2, "test")) {
            tap.write(archive, 0, archive.length);

            assertThatThrownBy(tap::finish).isInstanceOf(IOException.class).hasMessageContaining("compressed");
        }
    }

    @Test
    void finish_ofATruncatedArchive_throwsInsteadOfReportingFewerRows() throws IOException {
        byte[] archive = new Archive(0, "UTF8", List.<String[]>of(new String[] {"public", "t"}))
                .block(2, "1\n2\n3\n").bytes();
        for (int cut : new int[] {10, archive.length - 20, archive.length - 1}) {
            try (CopyHashTap tap = new CopyHashTap(16, 2, "test")) {
                tap.write(archive, 0, cut);

                assertThatThrownBy(tap::finish).as("cut at %d", cut).isInstanceOf(IOException.class);
            }
        }
    }

    @Test
    void finish_ofSomethingElseThanAnArchive_throwsAndTheWriterIsNotHeldUp() throws IOException {
        byte[] junk = new byte[100_000];
        new Random(3).nextBytes(junk);
        try (CopyHashTap tap = new CopyHashTap(100, 2, "test")) {
            feed(tap, junk, new Random(4));

            assertThatThrownBy(tap::finish).isInstanceOf(IOException.class).hasMessageContaining("PGDMP");
        }
    }

    @Test
    void close_withoutFinish_stopsTheHashingThread() throws IOException {
        byte[] archive = new Archive(0, "UTF8", List.<String[]>of(new String[] {"public", "t"})).bytes();
        CopyHashTap tap = new CopyHashTap(16, 2, "test");
        tap.write(archive, 0, archive.length / 2);
        tap.close();
        tap.close();

        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("backstop-copyhash-test") && t.isAlive());
    }
}
