package dev.backstop.mysql.physical;

import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.zip.CRC32;

/**
 * Passes an xbstream through unchanged while following its chunk structure, and keeps the
 * payload of a few small named files (the backup's binlog coordinates and facts) as they go by.
 *
 * <p>An xbstream is a sequence of chunks: the magic {@code XBSTCK01}, a flags byte, a type byte
 * ({@code P} payload, {@code E} end of file), a little-endian 32-bit path length and the path;
 * a payload chunk then has a 64-bit payload length, a 64-bit file offset, a CRC-32 of the payload
 * and the payload. Reading the structure as it passes proves the stream ends on a chunk boundary
 * (the tool did not stop mid-chunk) and lets the binlog position be taken from the very file that
 * {@code --prepare} and a later recovery read, without a second pass or a copy. A kept file's
 * CRC-32 is checked. Anything that is not this structure fails the write, naming the offset.
 *
 * <p>Given {@link Files}, the tap also hands every file's bytes to it as they pass, and checks the
 * CRC-32 of every chunk, as {@code mbstream -x} does: that is how a restore extracts the stream.
 *
 * <p>{@link #close()} closes nothing: the stream it writes to belongs to the caller.
 */
final class XbstreamTap extends FilterOutputStream {
    private static final byte[] MAGIC = "XBSTCK01".getBytes(StandardCharsets.US_ASCII);
    /** The server's own limit on a path (FN_REFLEN). */
    private static final int MAX_PATH = 512;
    private static final int MAX_KEPT = 64 * 1024;

    private enum State { FIXED_HEADER, PATH, LENGTHS, CHECKSUM, PAYLOAD }

    /**
     * Receives the files of the stream as they pass, in stream order. A failure it throws fails the
     * tap's write.
     */
    interface Files {
        /** A payload chunk of {@code path} starts, holding the file's bytes from {@code offset} on (it may be empty). */
        void chunk(String path, long offset) throws IOException;

        /** The next bytes of the current chunk's payload. */
        void data(byte[] b, int off, int len) throws IOException;

        /** The stream says {@code path} ends here. */
        void end(String path) throws IOException;
    }

    private final Set<String> keep;
    private final Files files;
    private final Map<String, ByteArrayOutputStream> kept = new HashMap<>();
    private final byte[] header = new byte[16];
    private final ByteArrayOutputStream pathBytes = new ByteArrayOutputStream();
    private State state = State.FIXED_HEADER;
    private int need = 14;
    private int have;
    private byte chunkType;
    private String path;
    private long checksum;
    /** The running CRC-32 of the current chunk's payload when its file is kept or files are extracted, else null. */
    private CRC32 crc;
    private long remaining;
    /** Where in its file the current chunk's payload goes. */
    private long fileOffset;
    private long offset;
    private long chunks;

    XbstreamTap(OutputStream out, Set<String> keep) {
        this(out, keep, null);
    }

    /** A tap that also gives every file's bytes to {@code files} (unless null), with every chunk's CRC-32 checked. */
    XbstreamTap(OutputStream out, Set<String> keep, Files files) {
        super(out);
        this.keep = Set.copyOf(keep);
        this.files = files;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        int end = off + len;
        int i = off;
        while (i < end) {
            if (state == State.PAYLOAD) {
                int n = (int) Math.min(remaining, end - i);
                ByteArrayOutputStream k = kept.get(path);
                if (k != null) {
                    if (k.size() + n > MAX_KEPT) {
                        throw new IOException("xbstream: file " + path + " is larger than " + MAX_KEPT + " bytes");
                    }
                    k.write(b, i, n);
                }
                if (crc != null) {
                    crc.update(b, i, n);
                }
                if (files != null) {
                    files.data(b, i, n);
                }
                i += n;
                offset += n;
                remaining -= n;
                if (remaining == 0) {
                    endPayload();
                }
                continue;
            }
            int n = Math.min(need - have, end - i);
            if (state == State.PATH) {
                pathBytes.write(b, i, n);
            } else {
                System.arraycopy(b, i, header, have, n);
            }
            have += n;
            i += n;
            offset += n;
            if (have == need) {
                advance();
            }
        }
    }

    private void advance() throws IOException {
        switch (state) {
            case FIXED_HEADER -> {
                for (int j = 0; j < MAGIC.length; j++) {
                    if (header[j] != MAGIC[j]) {
                        throw new IOException("xbstream: no chunk magic at offset " + (offset - 14));
                    }
                }
                byte type = header[9];
                long pathLength = le(10, 4);
                if (pathLength >= MAX_PATH) {
                    throw new IOException("xbstream: path length " + pathLength + " at offset " + (offset - 4) + " exceeds "
                            + MAX_PATH);
                }
                if (type != 'P' && type != 'E' && (header[8] & 1) == 0) {
                    throw new IOException("xbstream: unknown chunk type 0x" + Integer.toHexString(type & 0xff) + " at offset "
                            + (offset - 5));
                }
                chunkType = type;
                pathBytes.reset();
                if (pathLength == 0) {
                    afterPath();
                } else {
                    expect(State.PATH, (int) pathLength);
                }
            }
            case PATH -> afterPath();
            case LENGTHS -> {
                remaining = le(0, 8);
                fileOffset = le(8, 8);
                if (remaining < 0 || fileOffset < 0) {
                    throw new IOException("xbstream: negative payload length or file offset at offset " + (offset - 16));
                }
                expect(State.CHECKSUM, 4);
            }
            case CHECKSUM -> {
                checksum = le(0, 4);
                crc = null;
                if (keep.contains(path)) {
                    kept.computeIfAbsent(path, p -> new ByteArrayOutputStream());
                    crc = new CRC32();
                }
                if (files != null) {
                    crc = crc == null ? new CRC32() : crc;
                    files.chunk(path, fileOffset);
                }
                if (remaining == 0) {
                    endPayload();
                } else {
                    state = State.PAYLOAD;
                    have = 0;
                }
            }
            default -> throw new IllegalStateException(state.name());
        }
    }

    private void afterPath() throws IOException {
        path = pathBytes.toString(StandardCharsets.UTF_8);
        if (chunkType == 'P') {
            expect(State.LENGTHS, 16);
        } else {
            if (chunkType == 'E' && files != null) {
                files.end(path);
            }
            chunks++;
            expect(State.FIXED_HEADER, 14);
        }
    }

    private void endPayload() throws IOException {
        if (crc != null && crc.getValue() != checksum) {
            throw new IOException("xbstream: a chunk of " + path + " has CRC-32 " + Long.toHexString(crc.getValue())
                    + ", its header says " + Long.toHexString(checksum));
        }
        chunks++;
        expect(State.FIXED_HEADER, 14);
    }

    private void expect(State next, int bytes) {
        state = next;
        need = bytes;
        have = 0;
    }

    private long le(int from, int bytes) {
        long v = 0;
        for (int j = bytes - 1; j >= 0; j--) {
            v = (v << 8) | (header[from + j] & 0xff);
        }
        return v;
    }

    /** Whether the bytes so far end exactly after a whole chunk (and there was at least one). */
    boolean complete() {
        return chunks > 0 && state == State.FIXED_HEADER && have == 0;
    }

    /** Bytes seen so far. */
    long bytes() {
        return offset;
    }

    /** The content of kept file {@code name}, if the stream held it (a file split over chunks is concatenated). */
    Optional<String> file(String name) {
        ByteArrayOutputStream k = kept.get(name);
        return k == null ? Optional.empty() : Optional.of(k.toString(StandardCharsets.UTF_8));
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() {
        // the downstream stream is the caller's to close
    }
}
