package dev.backstop.mysql.binlog;

import dev.backstop.mysql.MariaDbEndpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A private option file with an endpoint's connection settings for {@code mariadb-binlog}, given
 * as its first argument {@code --defaults-file=}: that replaces every other option file of the
 * machine; the settings are in group {@code [mariadb-binlog]}, one of the groups mariadb-binlog reads.
 * Created 0600, deleted on {@link #close()}; values use the option-file escapes, so a password may
 * hold any character but a line break.
 */
final class BinlogOptionFile implements AutoCloseable {
    private final Path path;

    private BinlogOptionFile(Path path) {
        this.path = path;
    }

    static BinlogOptionFile create(MariaDbEndpoint endpoint, Path dir) throws IOException {
        StringBuilder s = new StringBuilder("[mariadb-binlog]\n");
        s.append("host=").append(quote(endpoint.host())).append('\n');
        s.append("port=").append(endpoint.port()).append('\n');
        s.append("user=").append(quote(endpoint.user())).append('\n');
        if (endpoint.password() != null) {
            s.append("password=").append(quote(endpoint.password())).append('\n');
        }
        s.append("protocol=TCP\n");
        Path p = Files.createTempFile(dir, "backstop-binlog-", ".cnf",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.writeString(p, s, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(p);
            throw e;
        }
        return new BinlogOptionFile(p);
    }

    private static String quote(String value) {
        if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
            throw new IllegalArgumentException("option value: contains a line break, which an option file cannot hold");
        }
        return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** The first argument of mariadb-binlog reading only this file. */
    String argument() {
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
