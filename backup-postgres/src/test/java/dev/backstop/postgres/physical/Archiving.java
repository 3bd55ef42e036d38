package dev.backstop.postgres.physical;

import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalSpool;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A source server whose archive_command queues into a {@link WalSpool} ({@link SpoolPush}), run
 * by PostgreSQL in its own JVM as the server's OS user; the test drains the spool into a
 * {@link WalArchive}. Copies the entry point's class path where that user can read it.
 */
final class Archiving implements AutoCloseable {
    final Path dir;
    final Repository repo;
    final LocalKeysetKek kek;
    final WalSpool spool;
    final EphemeralPostgres pg;
    final WalArchive archive;

    Archiving() throws Exception {
        this(java.util.Map.of());
    }

    /** A source server with {@code settings} on top of the archiving ones (e.g. full_page_writes for standbys). */
    Archiving(java.util.Map<String, String> settings) throws Exception {
        dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "backstop-archiving-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        repo = Repository.filesystem(dir.resolve("repo"));
        kek = LocalKeysetKek.create(dir.resolve("kek.json"));
        Path spoolDir = Files.createDirectories(dir.resolve("spool"));
        spool = WalSpool.at(spoolDir);
        for (Path p : List.of(spoolDir, spoolDir.resolve("ready"), spoolDir.resolve("tmp"))) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxrwxrwx"));
        }
        Path cp = copyClassPath(dir.resolve("lib"));
        // the server's OS user cannot write the repository: the test drains the spool itself
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String command = "'" + java + "' -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '" + cp + "/*' "
                + SpoolPush.class.getName() + " '" + spoolDir + "' %p %f";
        EphemeralPostgres.Builder b = EphemeralPostgres.builder().setting("archive_mode", "on").setting("archive_command", command);
        settings.forEach(b::setting);
        pg = b.start();
        archive = WalArchive.builder(repo, systemId(pg)).keys(kek).build();
    }

    static long systemId(EphemeralPostgres pg) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT system_identifier FROM pg_control_system()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Switches WAL and waits until the segment holding everything so far is in the archive. */
    void archiveAll() throws Exception {
        String last;
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_walfile_name(pg_switch_wal())")) {
            rs.next();
            last = rs.getString(1);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (!archive.contains(last)) {
            spool.drain(archive);
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(last + " was not archived within 90 s; server log: "
                        + Files.readString(pg.directory().resolve("server.log")));
            }
            Thread.sleep(100);
        }
    }

    /** Runs pgbench with {@code args} against database postgres; returns once it exited 0. */
    /** Returns once a pgbench client is connected (its load is running); fails after 30 s. */
    void awaitPgbenchConnected() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench'")) {
                rs.next();
                if (rs.getInt(1) > 0) {
                    return;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no pgbench client connected within 30 s");
            }
            Thread.sleep(20);
        }
    }

    void pgbench(String... args) throws Exception {
        // pgbench has no --no-password, so ToolProcess cannot drive it; in a test PGPASSWORD will do
        List<String> a = new ArrayList<>(List.of(PgTools.locate().tool("pgbench").toString(), "-h", pg.endpoint().host(),
                "-p", Integer.toString(pg.endpoint().port()), "-U", pg.endpoint().user()));
        a.addAll(List.of(args));
        a.add("postgres");
        ProcessBuilder pb = new ProcessBuilder(a).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("PGPASSWORD", pg.endpoint().password());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("pgbench " + List.of(args) + " exited " + p.exitValue() + ": " + out);
        }
    }

    private static Path copyClassPath(Path lib) throws IOException, URISyntaxException {
        Files.createDirectories(lib);
        Set<Path> sources = new LinkedHashSet<>();
        for (Class<?> c : List.of(SpoolPush.class, WalSpool.class, Repository.class, com.github.luben.zstd.Zstd.class,
                com.google.crypto.tink.Aead.class, com.google.protobuf.MessageLite.class,
                com.fasterxml.jackson.databind.ObjectMapper.class, com.fasterxml.jackson.core.JsonFactory.class,
                com.fasterxml.jackson.annotation.JsonProperty.class, org.slf4j.Logger.class)) {
            sources.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()));
        }
        int n = 0;
        for (Path src : sources) {
            if (Files.isDirectory(src)) {
                Path jarless = lib.resolve("classes" + n++);
                try (Stream<Path> s = Files.walk(src)) {
                    for (Path p : (Iterable<Path>) s::iterator) {
                        Path t = jarless.resolve(src.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(t);
                        } else {
                            Files.copy(p, t);
                        }
                    }
                }
                // a directory is not matched by 'lib/*': pack it as a jar the JVM finds
                Path jar = lib.resolve("classes" + (n - 1) + ".jar");
                pack(jarless, jar);
            } else {
                Files.copy(src, lib.resolve(src.getFileName()));
            }
        }
        try (Stream<Path> s = Files.walk(lib)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        return lib;
    }

    private static void pack(Path dir, Path jar) throws IOException {
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar)); Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p)) {
                    out.putNextEntry(new java.util.jar.JarEntry(dir.relativize(p).toString()));
                    Files.copy(p, out);
                    out.closeEntry();
                }
            }
        }
    }

    @Override
    public void close() throws IOException {
        try {
            pg.close();
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
