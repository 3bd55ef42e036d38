package dev.backstop.mysql.internal;

import dev.backstop.mysql.MariaDbEndpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A private client option file holding an endpoint's connection settings, for
 * {@code --defaults-file=}: readable by its owner only (created 0600, never widened), deleted on
 * {@link #close()}. {@code --defaults-file} replaces every other option file, so settings from
 * {@code /etc/mysql} or {@code ~/.my.cnf} never leak into a backup or restore. Values are quoted
 * with the option-file escapes, so a password may hold any character but a line break.
 *
 * <p>The group is the one the program reads: {@code [client]} for the client programs, {@code
 * [mariadb-backup]} for mariadb-backup (which does not read {@code [client]}), {@code
 * [mariadb-binlog]} for mariadb-binlog.
 */
public final class OptionFile implements AutoCloseable {
    private static final String PREFIX = "backstop-my-";
    private static final String SUFFIX = ".cnf";
    private final Path path;

    private OptionFile(Path path) {
        this.path = path;
    }

    /** Writes {@code endpoint}'s settings into the {@code [client]} group of a new file in {@code dir}. */
    public static OptionFile create(MariaDbEndpoint endpoint, Path dir) throws IOException {
        return create(endpoint, dir, "client");
    }

    /** Writes {@code endpoint}'s settings into group {@code [group]} of a new file in {@code dir}. */
    public static OptionFile create(MariaDbEndpoint endpoint, Path dir, String group) throws IOException {
        StringBuilder s = new StringBuilder("[").append(group).append("]\n");
        s.append("host=").append(quote(endpoint.host())).append('\n');
        s.append("port=").append(endpoint.port()).append('\n');
        s.append("user=").append(quote(endpoint.user())).append('\n');
        if (endpoint.password() != null) {
            s.append("password=").append(quote(endpoint.password())).append('\n');
        }
        s.append("protocol=TCP\n");
        Path p = Files.createTempFile(dir, PREFIX, SUFFIX,
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.writeString(p, s, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(p);
            throw e;
        }
        return new OptionFile(p);
    }

    /** {@code value} quoted with the option-file escapes; a line break is refused. */
    /**
     * Deletes the option files a process that died without closing them (killed) left in {@code
     * dir}, a directory only one user of option files works in at a time: they hold a password.
     *
     * @return how many were deleted
     */
    public static int deleteLeftovers(Path dir) throws IOException {
        int n = 0;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, PREFIX + "*" + SUFFIX)) {
            for (Path p : s) {
                Files.deleteIfExists(p);
                n++;
            }
        }
        return n;
    }

    public static String quote(String value) {
        if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
            throw new IllegalArgumentException("option value: contains a line break, which an option file cannot hold");
        }
        return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** Where the file is. */
    public Path path() {
        return path;
    }

    /** The first argument of a client program reading only this file. */
    public String argument() {
        return "--defaults-file=" + path;
    }

    @Override
    public void close() {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            throw new UncheckedIOException("could not delete the option file " + path, e);
        }
    }
}
