package dev.backstop.postgres;

import dev.backstop.core.BackupException;
import dev.backstop.core.Stage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds the PostgreSQL client and server programs ({@code pg_dump}, {@code pg_restore},
 * {@code psql}, {@code pg_amcheck}, {@code initdb}, {@code postgres}, {@code pg_ctl}).
 *
 * <p><b>Search order</b> for each program: the configured bin directory (only that, when
 * given); otherwise {@code pg_config --bindir} (a coherent set of one version), then each
 * directory on {@code PATH}, then the newest {@code /usr/lib/postgresql/<major>/bin}.
 *
 * <p><b>Guarantees.</b> A missing program is a {@link NoSuchFileException} whose message names
 * the program and every place looked in. Versions are read once per program and cached.
 *
 * <p><b>Threading.</b> Immutable apart from its caches; thread-safe.
 */
public final class PgTools {
    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\)\\s+(\\d+)(?:\\.(\\d+))?");

    private final Path binDir;
    private final Map<String, Path> found = new ConcurrentHashMap<>();
    private final Map<Path, Integer> majors = new ConcurrentHashMap<>();

    private PgTools(Path binDir) {
        this.binDir = binDir;
    }

    /** Searches pg_config, PATH and /usr/lib/postgresql as described above. */
    public static PgTools locate() {
        return new PgTools(null);
    }

    /** Uses only the programs in {@code binDir}. */
    public static PgTools in(Path binDir) {
        return new PgTools(Objects.requireNonNull(binDir, "binDir").toAbsolutePath());
    }

    /** The configured bin directory, if one was given. */
    public Optional<Path> binDir() {
        return Optional.ofNullable(binDir);
    }

    /** The path of program {@code name}; a {@link NoSuchFileException} naming where it looked if absent. */
    public Path tool(String name) throws NoSuchFileException {
        Path p = found.get(name);
        if (p != null) {
            return p;
        }
        List<Path> dirs = searchDirs();
        for (Path dir : dirs) {
            Path candidate = dir.resolve(name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                found.put(name, candidate);
                return candidate;
            }
        }
        throw new NoSuchFileException(name, null, name + " not found; looked in " + (binDir != null
                ? "the configured bin directory " + binDir
                : dirs + " (pg_config --bindir, PATH, /usr/lib/postgresql/*/bin)")
                + "; install the PostgreSQL client programs or configure PgTools.in(<bin dir>)");
    }

    /**
     * The major version of a program, read from {@code <program> --version}.
     *
     * @throws BackupException at {@link Stage#CONFIGURE} if the program cannot be run or prints no version
     */
    public int majorVersion(Path program) {
        try {
            return readMajorVersion(program);
        } catch (IOException e) {
            throw new BackupException(Stage.CONFIGURE, "could not read the version of " + program + ": " + e.getMessage(), e);
        }
    }

    private int readMajorVersion(Path program) throws IOException {
        Integer cached = majors.get(program);
        if (cached != null) {
            return cached;
        }
        String out = run(List.of(program.toString(), "--version"));
        int major = parseMajor(out).orElseThrow(() -> new IOException(program + " --version printed '" + out.strip()
                + "', expected something like 'pg_dump (PostgreSQL) 15.4'"));
        majors.put(program, major);
        return major;
    }

    /**
     * The major version in a {@code --version} line such as {@code pg_dump (PostgreSQL) 15.4} or
     * {@code psql (PostgreSQL) 9.6.24} (where the major is 9.6, reported as 9).
     */
    static Optional<Integer> parseMajor(String versionLine) {
        Matcher m = VERSION.matcher(versionLine);
        return m.find() ? Optional.of(Integer.parseInt(m.group(1))) : Optional.empty();
    }

    private List<Path> searchDirs() {
        if (binDir != null) {
            return List.of(binDir);
        }
        List<Path> dirs = new ArrayList<>();
        pgConfigBindir().ifPresent(dirs::add);
        String path = System.getenv("PATH");
        if (path != null) {
            for (String d : path.split(java.io.File.pathSeparator)) {
                if (!d.isEmpty() && !dirs.contains(Path.of(d))) {
                    dirs.add(Path.of(d));
                }
            }
        }
        Path debian = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(debian)) {
            try (Stream<Path> s = Files.list(debian)) {
                s.filter(d -> d.getFileName().toString().matches("\\d+"))
                        .sorted(Comparator.comparingInt((Path d) -> Integer.parseInt(d.getFileName().toString())).reversed())
                        .map(d -> d.resolve("bin")).filter(d -> !dirs.contains(d)).forEach(dirs::add);
            } catch (IOException ignored) {
                // an unreadable directory simply holds no tools
            }
        }
        return dirs;
    }

    private static Optional<Path> pgConfigBindir() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String d : path.split(java.io.File.pathSeparator)) {
            Path pgConfig = Path.of(d.isEmpty() ? "." : d, "pg_config");
            if (Files.isExecutable(pgConfig)) {
                try {
                    String out = run(List.of(pgConfig.toString(), "--bindir")).strip();
                    return out.isEmpty() ? Optional.empty() : Optional.of(Path.of(out));
                } catch (IOException e) {
                    return Optional.empty();
                }
            }
        }
        return Optional.empty();
    }

    private static String run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        try (InputStream in = p.getInputStream()) {
            String out = new String(in.readNBytes(64 * 1024), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(command + " did not finish within 30 s");
            }
            if (p.exitValue() != 0) {
                throw new IOException(command + " exited " + p.exitValue() + ": " + out.strip());
            }
            return out;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(command + " interrupted", e);
        }
    }

    @Override
    public String toString() {
        return "PgTools[" + (binDir == null ? "pg_config/PATH/usr/lib/postgresql" : binDir.toString()) + "]";
    }
}
