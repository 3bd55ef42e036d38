package dev.backstop.postgres.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A temporary pgpass file holding one password, readable by its owner only, so that tools get
 * the password without it appearing on a command line or in the environment of child
 * processes that {@code ps} shows. Deleted on close.
 */
public final class PgPassFile implements AutoCloseable {
    private final Path dir;
    private final Path file;

    private PgPassFile(Path dir, Path file) {
        this.dir = dir;
        this.file = file;
    }

    /** Writes a pgpass file matching any host, port and database for {@code user}. */
    public static PgPassFile create(String user, String password) throws IOException {
        Path dir = Files.createTempDirectory("backstop-pgpass-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        Path file = dir.resolve("pgpass");
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, "*:*:*:" + escape(user) + ":" + escape(password) + "\n", StandardCharsets.UTF_8);
        return new PgPassFile(dir, file);
    }

    /** Escapes {@code \} and {@code :} as libpq's pgpass parser expects. */
    static String escape(String field) {
        return field.replace("\\", "\\\\").replace(":", "\\:");
    }

    public Path path() {
        return file;
    }

    @Override
    public void close() {
        try {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // the directory is private to this user; nothing else can read what may remain
        }
    }
}
