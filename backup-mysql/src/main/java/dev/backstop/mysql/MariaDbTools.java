package dev.backstop.mysql;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Finds the MariaDB/MySQL programs: {@code mariadb-dump} (or {@code mysqldump}), {@code mariadb}
 * (or {@code mysql}), {@code mariadb-install-db} and {@code mariadbd}; and coreutils' {@code
 * stdbuf}, which a dump runs under when it is there (see {@link MariaDbDumpSource}).
 *
 * <p><b>Search order</b> for each program: a path configured with {@link #with(String, Path)}
 * (only that); otherwise each directory on {@code PATH}, then {@code /usr/bin}, {@code /usr/sbin},
 * {@code /usr/local/bin}, {@code /usr/local/sbin}; for a MariaDB name, its MySQL alias is tried
 * in the same places next.
 *
 * <p><b>Guarantees.</b> A missing program is a {@link NoSuchFileException} naming the program,
 * the places looked in and the setting that fixes it.
 *
 * <p><b>Threading.</b> Immutable; thread-safe.
 */
public final class MariaDbTools {
    private static final Map<String, String> ALIASES = Map.of("mariadb-dump", "mysqldump", "mariadb", "mysql",
            "mariadb-install-db", "mysql_install_db", "mariadbd", "mysqld");

    private final Map<String, Path> configured;

    private MariaDbTools(Map<String, Path> configured) {
        this.configured = Map.copyOf(configured);
    }

    /** Searches PATH and the usual directories. */
    public static MariaDbTools locate() {
        return new MariaDbTools(Map.of());
    }

    /** A copy that uses {@code program} for {@code name} (such as {@code mariadb-dump}), without searching. */
    public MariaDbTools with(String name, Path program) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(program, "program");
        Map<String, Path> m = new HashMap<>(configured);
        m.put(name, program.toAbsolutePath());
        return new MariaDbTools(m);
    }

    /** The path of program {@code name}; a {@link NoSuchFileException} naming where it looked if absent. */
    public Path tool(String name) throws NoSuchFileException {
        Path given = configured.get(name);
        if (given != null) {
            if (Files.isRegularFile(given) && Files.isExecutable(given)) {
                return given;
            }
            throw new NoSuchFileException(given.toString(), null, name + " not found at the configured path " + given
                    + " (MariaDbTools.with(\"" + name + "\", ...)); give the path of an executable " + name);
        }
        List<Path> dirs = searchDirs();
        List<String> names = new ArrayList<>(List.of(name));
        if (ALIASES.containsKey(name)) {
            names.add(ALIASES.get(name));
        }
        for (String n : names) {
            for (Path dir : dirs) {
                Path candidate = dir.resolve(n);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        throw new NoSuchFileException(name, null, name + " not found; looked for " + names + " in " + dirs
                + "; install the MariaDB client and server programs (Debian: mariadb-client, mariadb-server) or configure "
                + "MariaDbTools.locate().with(\"" + name + "\", <path>)");
    }

    /** The path of program {@code name} as {@link #tool} finds it; empty where it finds none. */
    Optional<Path> find(String name) {
        try {
            return Optional.of(tool(name));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    private static List<Path> searchDirs() {
        List<Path> dirs = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            for (String d : path.split(File.pathSeparator)) {
                if (!d.isEmpty() && !dirs.contains(Path.of(d))) {
                    dirs.add(Path.of(d));
                }
            }
        }
        for (String d : List.of("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")) {
            if (!dirs.contains(Path.of(d))) {
                dirs.add(Path.of(d));
            }
        }
        return dirs;
    }

    @Override
    public String toString() {
        return "MariaDbTools" + (configured.isEmpty() ? "[PATH]" : configured);
    }
}
