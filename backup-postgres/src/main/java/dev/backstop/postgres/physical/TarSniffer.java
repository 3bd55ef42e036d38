package dev.backstop.postgres.physical;

import dev.backstop.core.internal.stream.ForwardingOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Passes a tar stream through unchanged while reading its headers, and keeps two things on the
 * way: the whole {@code backup_label} and the whole {@code backup_manifest}, whose tail holds the
 * start and end of the backup's WAL and whose file list a later increment reads. Memory grows
 * with the number of files (a manifest line each), never with their size.
 */
final class TarSniffer extends ForwardingOutputStream {
    private static final int BLOCK = 512;
    private static final int LABEL_MAX = 64 * 1024;

    private final byte[] header = new byte[BLOCK];
    private int headerFill;
    private long dataLeft;
    private long padLeft;
    private boolean ended;
    private String current;
    private final ByteArrayOutputStream label = new ByteArrayOutputStream();
    private final ByteArrayOutputStream manifest = new ByteArrayOutputStream();
    private int entries;

    TarSniffer(OutputStream out) {
        super(out);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        int i = off;
        int end = off + len;
        while (i < end && !ended) {
            if (dataLeft > 0) {
                int n = (int) Math.min(dataLeft, end - i);
                keep(b, i, n);
                dataLeft -= n;
                i += n;
            } else if (padLeft > 0) {
                int n = (int) Math.min(padLeft, end - i);
                padLeft -= n;
                i += n;
            } else {
                int n = Math.min(BLOCK - headerFill, end - i);
                System.arraycopy(b, i, header, headerFill, n);
                headerFill += n;
                i += n;
                if (headerFill == BLOCK) {
                    headerFill = 0;
                    parseHeader();
                }
            }
        }
    }

    private void parseHeader() throws IOException {
        boolean zero = true;
        for (byte x : header) {
            if (x != 0) {
                zero = false;
                break;
            }
        }
        if (zero) {
            ended = true;
            return;
        }
        String name = cString(0, 100);
        String prefix = cString(345, 155);
        if (!prefix.isEmpty()) {
            name = prefix + "/" + name;
        }
        long size = size();
        current = name;
        entries++;
        dataLeft = size;
        padLeft = (BLOCK - size % BLOCK) % BLOCK;
    }

    private long size() throws IOException {
        if ((header[124] & 0x80) != 0) {
            long v = 0;
            for (int k = 125; k < 136; k++) {
                v = v << 8 | (header[k] & 0xFF);
            }
            return v;
        }
        String octal = cString(124, 12).trim();
        try {
            return octal.isEmpty() ? 0 : Long.parseLong(octal, 8);
        } catch (NumberFormatException e) {
            throw new IOException("pg_basebackup wrote a tar header for '" + current + "' with size field '" + octal + "'");
        }
    }

    private String cString(int from, int max) {
        int n = 0;
        while (n < max && header[from + n] != 0) {
            n++;
        }
        return new String(header, from, n, StandardCharsets.UTF_8);
    }

    private void keep(byte[] b, int off, int n) {
        if ("backup_label".equals(current) && label.size() + n <= LABEL_MAX) {
            label.write(b, off, n);
        } else if ("backup_manifest".equals(current)) {
            manifest.write(b, off, n);
        }
    }

    /** The backup_label seen in the stream, or empty. */
    String backupLabel() {
        return label.toString(StandardCharsets.UTF_8);
    }

    /** The backup_manifest seen in the stream, or empty. */
    byte[] manifest() {
        return manifest.toByteArray();
    }

    int entries() {
        return entries;
    }

    /** Does not close the pipeline's stream: the source closes it when pg_basebackup has exited. */
    @Override
    public void close() throws IOException {
        out.flush();
    }
}
