package dev.backstop.benchmarks;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * Draws a comparison script's key=value output as one PNG: backup and restore time per contender
 * and fixture and, where the run measured CPU, Backstop's CPU floor.
 *
 * <p>Usage: {@code ComparisonChart <key=value file> <png file>}. The kind of comparison (logical or
 * physical PostgreSQL, MariaDB logical or physical) is read from the keys; fixtures are the prefixes of {@code *_backstop_backup_median_s}.
 * Lines starting with {@code #} are comments; the first one, if any, becomes the chart's subtitle.
 * Lines starting with {@code physical_} (compare-mysql.sh's physical part, drawn from its own
 * results file) are left out.
 */
public final class ComparisonChart {
    private static final int PANEL_WIDTH = 560;
    private static final int HEIGHT = 420;
    private static final Color OTHER = new Color(0x9e9e9e);
    private static final Color OTHER_2 = new Color(0x5f5f5f);
    private static final Color BACKSTOP = new Color(0x1565c0);
    private static final Color BACKSTOP_2 = new Color(0x64b5f6);
    private static final Color BACKSTOP_3 = new Color(0x0d2f6e);

    /** The prefix of the lines of a comparison run as a part of another one. */
    private static final String OTHER_PART = "physical_";

    /** One contender: the key suffix of its median, the label a reader sees, its colour. */
    private record Series(String key, String label, Color color) {
    }

    private static final List<Series> LOGICAL_BACKUP = List.of(
            new Series("shell_backup_median_s", "pg_dump | zstd | sha256sum", OTHER),
            new Series("pg_dump_fc_median_s", "pg_dump -Fc", OTHER_2),
            new Series("backstop_backup_median_s", "Backstop", BACKSTOP),
            new Series("backstop_no_fingerprints_median_s", "Backstop, no fingerprints", BACKSTOP_2),
            new Series("backstop_warm_jvm_backup_median_s", "Backstop, long-lived JVM", BACKSTOP_3));
    private static final List<Series> LOGICAL_RESTORE = List.of(
            new Series("pg_restore_j2_median_s", "pg_restore -j2", OTHER),
            new Series("backstop_restore_spooled_median_s", "Backstop, spooled", BACKSTOP_2),
            new Series("backstop_restore_median_s", "Backstop, streamed", BACKSTOP),
            new Series("backstop_warm_jvm_restore_median_s", "Backstop, long-lived JVM", BACKSTOP_3));
    private static final List<Series> PHYSICAL_BACKUP = List.of(
            new Series("shell_backup_median_s", "pg_basebackup | zstd", OTHER),
            new Series("pgbackrest_backup_median_s", "pgBackRest", OTHER_2),
            new Series("backstop_backup_median_s", "Backstop, data directory", BACKSTOP),
            new Series("backstop_basebackup_backup_median_s", "Backstop via pg_basebackup", BACKSTOP_2));
    private static final List<Series> PHYSICAL_RESTORE = List.of(
            new Series("pgbackrest_restore_median_s", "pgBackRest", OTHER_2),
            new Series("backstop_restore_median_s", "Backstop", BACKSTOP));
    private static final List<Series> MARIADB_BACKUP = List.of(
            new Series("shell_backup_median_s", "mariadb-dump | zstd | sha256sum", OTHER),
            new Series("mydumper_t2_median_s", "mydumper -t 2", OTHER_2),
            new Series("backstop_backup_median_s", "Backstop", BACKSTOP),
            new Series("backstop_no_fingerprints_median_s", "Backstop, no fingerprints", BACKSTOP_2),
            new Series("backstop_longlived_backup_median_s", "Backstop, long-lived JVM", BACKSTOP_3));
    private static final List<Series> MARIADB_RESTORE = List.of(
            new Series("mariadb_restore_median_s", "mariadb < dump", OTHER),
            new Series("myloader_t2_median_s", "myloader -t 2", OTHER_2),
            new Series("backstop_restore_median_s", "Backstop", BACKSTOP),
            new Series("backstop_longlived_restore_median_s", "Backstop, long-lived JVM", BACKSTOP_3));
    private static final List<Series> MARIADB_PHYSICAL_BACKUP = List.of(
            new Series("shell_backup_median_s", "mariadb-backup | zstd", OTHER),
            new Series("backstop_backup_median_s", "Backstop", BACKSTOP));
    private static final List<Series> MARIADB_PHYSICAL_RESTORE = List.of(
            new Series("shell_restore_median_s", "zstd -d | mbstream, prepare, move-back", OTHER),
            new Series("backstop_restore_median_s", "Backstop", BACKSTOP));
    private static final List<Series> CPU_FLOOR = List.of(
            new Series("backup_cpu_floor_vs_shell", "backup, vs the shell pipeline", BACKSTOP),
            new Series("restore_cpu_floor_vs_pg_restore_j2", "restore, vs pg_restore -j2", BACKSTOP_2));

    private ComparisonChart() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: ComparisonChart <key=value file> <png file>");
            System.exit(2);
        }
        System.setProperty("java.awt.headless", "true");
        Path in = Path.of(args[0]);
        write(Files.readAllLines(in), Path.of(args[1]));
    }

    /** Renders the comparison in {@code lines} to {@code png}. */
    static void write(List<String> lines, Path png) throws IOException {
        Map<String, String> values = new LinkedHashMap<>();
        String subtitle = null;
        for (String line : lines) {
            String l = line.strip();
            if (l.startsWith("#")) {
                subtitle = subtitle == null ? l.substring(1).strip() : subtitle;
                continue;
            }
            int eq = l.indexOf('=');
            // a part run inside another comparison (compare-mysql.sh's physical_ lines) has a chart of its own
            if (eq > 0 && l.indexOf(' ') < 0 && !l.startsWith(OTHER_PART)) {
                values.put(l.substring(0, eq), l.substring(eq + 1));
            }
        }
        Set<String> fixtures = new LinkedHashSet<>();
        for (String key : values.keySet()) {
            if (key.endsWith("_backstop_backup_median_s")) {
                fixtures.add(key.substring(0, key.length() - "_backstop_backup_median_s".length()));
            }
        }
        if (fixtures.isEmpty()) {
            throw new IllegalArgumentException("no <fixture>_backstop_backup_median_s line: not a comparison's output");
        }
        boolean physical = values.keySet().stream().anyMatch(k -> k.contains("pgbackrest"));
        boolean mariadb = values.keySet().stream().anyMatch(k -> k.contains("mydumper"));
        boolean mariadbPhysical = values.keySet().stream().anyMatch(k -> k.contains("mariadb_backup"));
        String title = mariadb ? "MariaDB logical backup and restore, medians"
                : mariadbPhysical ? "MariaDB physical backup and restore, medians"
                : "PostgreSQL " + (physical ? "physical" : "logical") + " backup and restore, medians";
        List<JFreeChart> panels = new ArrayList<>();
        panels.add(bars("Backup, seconds (lower is better)", fixtures, mariadb ? MARIADB_BACKUP
                : mariadbPhysical ? MARIADB_PHYSICAL_BACKUP : physical ? PHYSICAL_BACKUP : LOGICAL_BACKUP, values, null));
        panels.add(bars("Restore, seconds (lower is better)", fixtures, mariadb ? MARIADB_RESTORE
                : mariadbPhysical ? MARIADB_PHYSICAL_RESTORE : physical ? PHYSICAL_RESTORE : LOGICAL_RESTORE, values, null));
        boolean cpu = fixtures.stream().anyMatch(f -> values.containsKey(f + "_" + CPU_FLOOR.get(0).key()));
        if (cpu) {
            panels.add(bars("CPU floor: Backstop's CPU / cores / other tool's time", fixtures, CPU_FLOOR, values, 1.0));
        }
        render(panels, title, subtitle, png);
    }

    private static JFreeChart bars(String title, Set<String> fixtures, List<Series> series, Map<String, String> values,
                                   Double marker) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (Series s : series) {
            for (String f : fixtures) {
                String v = values.get(f + "_" + s.key());
                if (v != null && !v.isBlank()) {
                    data.addValue(Double.parseDouble(v), s.label(), f);
                }
            }
        }
        JFreeChart chart = ChartFactory.createBarChart(title, null, null, data, PlotOrientation.VERTICAL, true, false, false);
        chart.getTitle().setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        chart.setBackgroundPaint(Color.WHITE);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        BarRenderer r = (BarRenderer) plot.getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setItemMargin(0.04);
        r.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new java.text.DecimalFormat("0.00")));
        r.setDefaultItemLabelsVisible(true);
        r.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        for (Series s : series) {
            int row = data.getRowIndex(s.label());
            if (row >= 0) {
                r.setSeriesPaint(row, s.color());
            }
        }
        if (marker != null) {
            ValueMarker m = new ValueMarker(marker, new Color(0xc62828), new BasicStroke(1.5f));
            m.setLabel("above 1.0: slower than the other tool even with every core busy");
            m.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
            m.setLabelAnchor(org.jfree.chart.ui.RectangleAnchor.TOP_RIGHT);
            m.setLabelTextAnchor(org.jfree.chart.ui.TextAnchor.BOTTOM_RIGHT);
            m.setLabelOffset(new org.jfree.chart.ui.RectangleInsets(2, 2, 12, 2));
            plot.addRangeMarker(m);
            plot.getRangeAxis().setUpperBound(Math.max(1.3, plot.getRangeAxis().getUpperBound()));
        }
        return chart;
    }

    private static void render(List<JFreeChart> panels, String title, String subtitle, Path png) throws IOException {
        int top = 56;
        BufferedImage image = new BufferedImage(PANEL_WIDTH * panels.size(), HEIGHT + top, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, image.getWidth(), image.getHeight());
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
            g.drawString(title, 12, 24);
            if (subtitle != null) {
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
                g.drawString(subtitle, 12, 44);
            }
            for (int i = 0; i < panels.size(); i++) {
                panels.get(i).draw(g, new Rectangle2D.Double(i * PANEL_WIDTH, top, PANEL_WIDTH, HEIGHT));
            }
        } finally {
            g.dispose();
        }
        Path dir = png.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        if (!ImageIO.write(image, "png", png.toFile())) {
            throw new UncheckedIOException(new IOException("no PNG writer in this JVM"));
        }
    }
}
