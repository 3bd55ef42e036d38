package dev.backstop.postgres.physical;

import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.internal.ToolProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The checks a {@link PhysicalRestoreDrill} runs on the recovered server itself, each adding its
 * findings and measurements: the databases there, {@code pg_amcheck} over all of them, and the
 * data-checksum counters.
 */
final class DrillChecks {
    private final EphemeralPostgres server;
    private final List<String> findings;
    private final Map<String, String> measured;

    DrillChecks(EphemeralPostgres server, List<String> findings, Map<String, String> measured) {
        this.server = server;
        this.findings = findings;
        this.measured = measured;
    }

    /** The databases that allow connections, templates aside. */
    List<String> databases() throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = server.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT datname FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate "
                     + "ORDER BY 1")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /**
     * {@code pg_amcheck --all --heapallindexed}: every heap, TOAST table and B-tree index of every
     * database that allows connections (the amcheck extension is installed where missing: the
     * server is thrown away). Exit 0 passes; anything else is a finding with the report's tail.
     */
    void amcheck(Path program, int jobs, Path workDir) throws IOException {
        Path out = Files.createTempFile(workDir, "backstop-amcheck-", ".txt");
        try {
            try (ToolProcess p = ToolProcess.start(program, List.of("--all", "--install-missing", "--heapallindexed",
                    "--jobs=" + jobs), server.endpoint(), null, ProcessBuilder.Redirect.to(out.toFile()))) {
                int exit = p.waitFor();
                if (exit == 0) {
                    measured.put("amcheck", "passed");
                    return;
                }
                String report = Files.readString(out, StandardCharsets.UTF_8);
                String tail = report.length() > 2000 ? report.substring(report.length() - 2000) : report;
                measured.put("amcheck", "failed");
                findings.add("pg_amcheck --heapallindexed exited " + exit + " on the restored cluster: "
                        + (tail + " " + p.stderrTail()).strip());
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /**
     * Whether the cluster has data checksums and, if so, how many page reads failed them so far
     * (the server verifies a page's checksum whenever it reads the page from disk, as pg_amcheck
     * made it do for every heap and B-tree page).
     */
    void checksums() throws SQLException {
        try (Connection c = server.connect("postgres"); Statement st = c.createStatement()) {
            boolean on;
            try (ResultSet rs = st.executeQuery("SHOW data_checksums")) {
                rs.next();
                on = "on".equals(rs.getString(1));
            }
            measured.put("data_checksums", on ? "on" : "off");
            if (!on) {
                return;
            }
            List<String> failed = new ArrayList<>();
            long total = 0;
            try (ResultSet rs = st.executeQuery("SELECT coalesce(datname, '(shared catalogs)'), checksum_failures "
                    + "FROM pg_catalog.pg_stat_database WHERE checksum_failures > 0 ORDER BY 1")) {
                while (rs.next()) {
                    failed.add(rs.getString(1) + ": " + rs.getLong(2));
                    total += rs.getLong(2);
                }
            }
            measured.put("checksum_failures", Long.toString(total));
            if (total > 0) {
                findings.add("data checksums: " + total + " page reads failed verification (" + String.join(", ", failed) + ")");
            }
        }
    }
}
