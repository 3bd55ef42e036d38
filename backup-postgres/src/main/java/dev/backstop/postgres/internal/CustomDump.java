package dev.backstop.postgres.internal;

import dev.backstop.core.internal.stream.BulkInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The head of a pg_dump custom-format archive read from a stream: header, table of contents, and
 * then its data blocks one by one. Knows archive versions 1.12 to 1.15 (PostgreSQL 9.x to 16);
 * anything else is refused with {@link Unsupported}, so a caller can fall back to pg_restore.
 *
 * <p>A stream written to a pipe (as Backstop's are) has its table of contents before all data
 * and no data offsets; the blocks follow in table-of-contents order, each a type byte, a dump id,
 * then length-prefixed chunks ending with a zero length. In an uncompressed archive each COPY row
 * is a chunk of its own and the block ends with a chunk holding the {@code \.} end marker, which
 * {@link Block#data()} leaves out. The reader buffers its input itself because it reads a few
 * bytes of framing per row.
 */
public final class CustomDump {
    /** Thrown for an archive this reader does not handle; pg_restore may still. */
    public static final class Unsupported extends IOException {
        Unsupported(String message) {
            super(message);
        }
    }

    /** Where pg_dump files an entry. */
    public enum Section { NONE, PRE_DATA, DATA, POST_DATA }

    /**
     * One table-of-contents entry. {@code copyStmt} is null for entries without COPY data;
     * {@code namespace} is the schema of the entry's object (null if it has none);
     * {@code dependencies} are the dump ids it must come after.
     */
    public record Entry(int dumpId, String desc, String namespace, String tag, Section section, String defn,
                        String copyStmt, boolean hasData, List<Integer> dependencies) {
        public Entry {
            dependencies = List.copyOf(dependencies);
        }
    }

    /** A data block: whose it is and its bytes, which must be read to the end before the next block. */
    public record Block(int type, Entry entry, InputStream data) {
    }

    public static final int BLOCK_DATA = 1;
    /** The newest pg_dump whose archives this reader knows (archive version 1.15). */
    public static final int NEWEST_PG_DUMP_MAJOR = 16;
    private static final int K_VERS_1_11 = version(1, 11, 0);
    private static final int K_VERS_1_14 = version(1, 14, 0);
    private static final int K_VERS_1_15 = version(1, 15, 0);

    private final InputStream in;
    private final byte[] buf = new byte[256 * 1024];
    private int pos;
    private int lim;
    private final int version;
    private final int intSize;
    private final int offSize;
    private final int compression;
    private final Map<Integer, Entry> entries;
    private ChunkStream open;

    private CustomDump(InputStream in) throws IOException {
        this.in = in;
        byte[] magic = readBytes(5);
        if (!"PGDMP".equals(new String(magic, StandardCharsets.US_ASCII))) {
            throw new Unsupported("not a pg_dump custom-format archive (no PGDMP magic)");
        }
        int vmaj = readByte();
        int vmin = readByte();
        int vrev = readByte();
        this.version = version(vmaj, vmin, vrev);
        if (version < version(1, 12, 0) || version >= version(1, 16, 0)) {
            throw new Unsupported("archive version " + vmaj + "." + vmin + "." + vrev + " (this reader knows 1.12 to 1.15)");
        }
        this.intSize = readByte();
        this.offSize = readByte();
        if (intSize < 1 || intSize > 8 || offSize < 1 || offSize > 8) {
            throw new Unsupported("archive integer sizes " + intSize + "/" + offSize);
        }
        int format = readByte();
        if (format != 1) {
            throw new Unsupported("archive format " + format + " is not custom (1)");
        }
        this.compression = version >= K_VERS_1_15 ? readByte() : readInt();
        for (int i = 0; i < 7; i++) {
            readInt(); // creation time, broken down
        }
        readStr(); // database name
        readStr(); // server version
        readStr(); // pg_dump version
        this.entries = Collections.unmodifiableMap(readToc());
    }

    /** Reads the header and the table of contents; the stream is then at the first data block. */
    public static CustomDump read(InputStream in) throws IOException {
        return new CustomDump(in);
    }

    private static int version(int maj, int min, int rev) {
        return (maj << 16) | (min << 8) | rev;
    }

    /** Whether table data is stored uncompressed, so that its COPY text can be read directly. */
    public boolean uncompressed() {
        return compression == 0;
    }

    /** The entries in table-of-contents order. */
    public List<Entry> entries() {
        return new ArrayList<>(entries.values());
    }

    /** The client encoding the archive's data is in, from its ENCODING entry; null if it has none. */
    public String encoding() {
        for (Entry e : entries.values()) {
            if ("ENCODING".equals(e.desc()) && e.defn() != null) {
                int a = e.defn().indexOf('\'');
                int b = e.defn().lastIndexOf('\'');
                return a >= 0 && b > a ? e.defn().substring(a + 1, b) : null;
            }
        }
        return null;
    }

    private Map<Integer, Entry> readToc() throws IOException {
        int count = readInt();
        if (count < 0) {
            throw new IOException("corrupt archive: " + count + " table-of-contents entries");
        }
        Map<Integer, Entry> toc = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            int dumpId = readInt();
            if (dumpId <= 0) {
                throw new IOException("corrupt archive: entry id " + dumpId);
            }
            readInt(); // had dumper
            readStr(); // table oid
            readStr(); // oid
            String tag = readStr();
            String desc = readStr();
            Section section = version >= K_VERS_1_11 ? section(readInt()) : Section.NONE;
            String defn = readStr();
            readStr(); // drop statement
            String copyStmt = readStr();
            String namespace = readStr();
            readStr(); // tablespace
            if (version >= K_VERS_1_14) {
                readStr(); // table access method
            }
            readStr(); // owner
            readStr(); // with oids
            List<Integer> deps = new ArrayList<>();
            for (String d = readStr(); d != null; d = readStr()) {
                try {
                    deps.add(Integer.parseInt(d.trim()));
                } catch (NumberFormatException e) {
                    throw new IOException("corrupt archive: dependency '" + d + "' of entry " + dumpId);
                }
            }
            int flag = readByte();
            readBytes(offSize);
            toc.put(dumpId, new Entry(dumpId, desc, namespace, tag, section, defn, copyStmt, flag != 3, deps));
        }
        return toc;
    }

    private static Section section(int n) throws IOException {
        return switch (n) {
            case 1 -> Section.NONE;
            case 2 -> Section.PRE_DATA;
            case 3 -> Section.DATA;
            case 4 -> Section.POST_DATA;
            default -> throw new IOException("corrupt archive: section " + n);
        };
    }

    /**
     * The next data block, or null at the end of the archive. The previous block's data must have
     * been read to its end.
     */
    public Block nextBlock() throws IOException {
        if (open != null && !open.done) {
            throw new IllegalStateException("the previous data block was not read to its end");
        }
        if (!buffered(1)) {
            return null;
        }
        int type = readByte();
        int dumpId = readInt();
        Entry e = entries.get(dumpId);
        if (e == null) {
            throw new IOException("corrupt archive: data block for unknown entry " + dumpId);
        }
        open = new ChunkStream();
        return new Block(type, e, open);
    }

    /** The data of one block: its chunks joined, without their length prefixes. */
    private final class ChunkStream extends BulkInputStream {
        private long left;
        private boolean done;

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!hasData()) {
                return -1;
            }
            int r = (int) Math.min(Math.min(len, left), lim - pos);
            System.arraycopy(buf, pos, b, off, r);
            pos += r;
            left -= r;
            return r;
        }

        /** Writes the rest of the block straight from the reader's buffer, without a copy in between. */
        @Override
        public long transferTo(OutputStream out) throws IOException {
            long moved = 0;
            while (hasData()) {
                int r = (int) Math.min(left, lim - pos);
                out.write(buf, pos, r);
                pos += r;
                left -= r;
                moved += r;
            }
            return moved;
        }

        /** Whether data bytes follow, with at least one of them buffered; false at the block's end. */
        private boolean hasData() throws IOException {
            while (left == 0) {
                if (done) {
                    return false;
                }
                int n = readInt();
                if (n < 0) {
                    throw new IOException("corrupt archive: chunk length " + n);
                }
                if (n == 0) {
                    done = true;
                    return false;
                }
                if (n <= END_MARKER.length + 2 && buffered(n) && isEndMarker(n)) {
                    consume(n);
                    continue;
                }
                left = n;
            }
            if (!buffered(1)) {
                throw new EOFException("archive ends inside a data block");
            }
            return true;
        }
    }

    private static final byte[] END_MARKER = {'\\', '.', '\n'};

    /** Whether the next {@code n} buffered bytes are COPY's end marker followed only by newlines. */
    private boolean isEndMarker(int n) {
        if (n < END_MARKER.length) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            byte want = i < END_MARKER.length ? END_MARKER[i] : (byte) '\n';
            if (buf[pos + i] != want) {
                return false;
            }
        }
        return true;
    }

    private void consume(int n) {
        pos += n;
    }

    /** Makes at least {@code n} (at most the buffer's size) bytes available; false at end of input. */
    private boolean buffered(int n) throws IOException {
        if (lim - pos >= n) {
            return true;
        }
        if (pos > 0) {
            System.arraycopy(buf, pos, buf, 0, lim - pos);
            lim -= pos;
            pos = 0;
        }
        while (lim < n) {
            int r = in.read(buf, lim, buf.length - lim);
            if (r < 0) {
                return false;
            }
            lim += r;
        }
        return true;
    }

    private int readByte() throws IOException {
        if (!buffered(1)) {
            throw new EOFException("archive ends inside its header, table of contents or a block's framing");
        }
        return buf[pos++] & 0xff;
    }

    private byte[] readBytes(int n) throws IOException {
        byte[] b = new byte[n];
        int done = 0;
        while (done < n) {
            if (!buffered(1)) {
                throw new EOFException("archive ends inside its header or table of contents");
            }
            int r = Math.min(n - done, lim - pos);
            System.arraycopy(buf, pos, b, done, r);
            pos += r;
            done += r;
        }
        return b;
    }

    /** pg_dump's integer: a sign byte, then {@code intSize} bytes, least significant first. */
    private int readInt() throws IOException {
        int sign = readByte();
        long v = 0;
        for (int i = 0; i < intSize; i++) {
            v |= (long) readByte() << (8 * i);
        }
        if (v > Integer.MAX_VALUE) {
            throw new IOException("corrupt archive: integer " + v + " out of range");
        }
        return sign == 0 ? (int) v : -(int) v;
    }

    private String readStr() throws IOException {
        int len = readInt();
        if (len < 0) {
            return null;
        }
        return new String(readBytes(len), StandardCharsets.UTF_8);
    }
}
