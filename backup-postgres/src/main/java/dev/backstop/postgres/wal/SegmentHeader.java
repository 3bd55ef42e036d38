package dev.backstop.postgres.wal;

import dev.backstop.core.IntegrityException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The check that a segment belongs where its name puts it, from the long page header every
 * segment starts with: magic, timeline, page address, and the system identifier at offset 24
 * (XLogLongPageHeaderData, little-endian on the platforms PostgreSQL runs on here). The header's
 * timeline may be an ancestor of the name's: the segment that holds a switch point begins with the
 * parent timeline's pages.
 */
final class SegmentHeader {
    /** Bytes of the long page header at the start of every segment. */
    static final int BYTES = 40;

    private SegmentHeader() {
    }

    /** Checks the local file {@code source} of {@code size} bytes, to be archived as {@code file}. */
    static void check(Path source, WalFile file, long size, long systemId) throws IOException {
        String name = file.name();
        if (file.kind() == WalFile.Kind.SEGMENT && size != WalFile.SEGMENT_BYTES) {
            throw new IntegrityException(name, "size of WAL segment " + source, WalFile.SEGMENT_BYTES + " bytes", size + " bytes", null, null);
        }
        byte[] head = new byte[BYTES];
        try (InputStream in = Files.newInputStream(source)) {
            if (in.readNBytes(head, 0, head.length) < head.length) {
                throw new IntegrityException(name, "WAL page header of " + source, "40 bytes", "a shorter file", null, null);
            }
        }
        check(head, file, systemId);
    }

    /** Checks the first {@link #BYTES} bytes {@code head} of {@code file}. */
    static void check(byte[] head, WalFile file, long systemId) {
        String name = file.name();
        ByteBuffer b = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        int tli = b.getInt(4);
        long pageAddr = b.getLong(8);
        long sysid = b.getLong(24);
        if (sysid != systemId) {
            throw new IntegrityException(name, "system identifier of " + name, Long.toUnsignedString(systemId),
                    Long.toUnsignedString(sysid) + ": this WAL comes from another cluster; refusing to mix it into this archive", null, null);
        }
        // the segment holding a timeline switch starts with pages its parent timeline wrote
        if (tli < 1 || tli > file.timeline() || pageAddr != file.startLsn()) {
            throw new IntegrityException(name, "page header of " + name, "timeline " + file.timeline() + " at "
                    + WalFile.formatLsn(file.startLsn()), "timeline " + tli + " at " + WalFile.formatLsn(pageAddr), null, null);
        }
    }
}
