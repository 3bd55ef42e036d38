package dev.backstop.mysql.binlog;

import static dev.backstop.mysql.binlog.BinlogArchive.EVENT_HEADER;
import static dev.backstop.mysql.binlog.BinlogArchive.FORMAT_DESCRIPTION_EVENT;
import static dev.backstop.mysql.binlog.BinlogArchive.MAGIC;

import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;

/**
 * What {@link BinlogArchive} checks of a local file before it stores a byte: the binlog magic and a
 * format description event written by the archive's server id; and the file's SHA-256.
 */
final class BinlogFileCheck {
    private final long serverId;
    private final String stream;

    BinlogFileCheck(long serverId, String stream) {
        this.serverId = serverId;
        this.stream = stream;
    }

    void checkHeader(Path source, String name, String key) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(source)) {
            head = in.readNBytes(MAGIC.length + EVENT_HEADER);
        }
        String what = "binlog file " + source + " offered as " + name;
        if (head.length < MAGIC.length || !java.util.Arrays.equals(head, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new IntegrityException(key, what, "the binlog magic fe 62 69 6e", head.length < MAGIC.length ? head.length
                    + " bytes" : String.format("%02x %02x %02x %02x", head[0], head[1], head[2], head[3]) + ": not a binlog file",
                    null, null);
        }
        if (head.length < MAGIC.length + EVENT_HEADER) {
            throw new IntegrityException(key, what, "a format description event after the magic", head.length
                    + " bytes in all: the file is truncated", null, null);
        }
        int type = head[MAGIC.length + 4] & 0xff;
        if (type != FORMAT_DESCRIPTION_EVENT) {
            throw new IntegrityException(key, what, "a format description event (type 15) after the magic", "an event of type "
                    + type, null, null);
        }
        long id = Integer.toUnsignedLong((head[MAGIC.length + 5] & 0xff) | (head[MAGIC.length + 6] & 0xff) << 8
                | (head[MAGIC.length + 7] & 0xff) << 16 | (head[MAGIC.length + 8] & 0xff) << 24);
        if (id != serverId) {
            throw new IntegrityException(key, what, "server id " + serverId + " (this archive's server, stream " + stream + ")",
                    "server id " + id + ": a binlog of another server; refusing to archive it here", null, null);
        }
    }

    static Digest sha256(Path file) throws IOException {
        MessageDigest md = Digest.newSha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return Digest.of(md.digest());
    }
}
