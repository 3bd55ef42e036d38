package dev.backstop.core.report;

import dev.backstop.core.report.Report.Attempt;
import dev.backstop.core.report.Report.AuditEvent;
import dev.backstop.core.report.Report.BackupEvidence;
import dev.backstop.core.report.Report.Drill;
import dev.backstop.core.report.Report.Gap;
import dev.backstop.core.report.Report.ObjectEvidence;
import dev.backstop.core.report.Report.Slo;
import dev.backstop.core.report.Report.ValidationEvidence;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.DoubleFunction;

/**
 * A {@link Report} as one self-contained HTML page: inline CSS and inline SVG charts, no scripts,
 * fonts or other fetched resources, so it can be mailed, archived as evidence and opened offline.
 * The SLO table comes first, then the charts (backup size and duration, RPO timeline, drill RTO),
 * then the evidence tables. Every text taken from the report is HTML-escaped.
 */
public final class ReportHtml {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'").withZone(ZoneOffset.UTC);
    private static final int W = 560;
    private static final int H = 210;
    private static final int LEFT = 64;
    private static final int RIGHT = 16;
    private static final int TOP = 28;
    private static final int BOTTOM = 34;

    private static final String CSS = """
            body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:24px auto;
            max-width:1160px;color:#1f2933;background:#fff;padding:0 16px}
            h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d9e2ec;padding-bottom:4px}
            .sub{color:#52606d;margin:0 0 16px}
            .verdict{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:600;color:#fff}
            .ok{color:#1e7b34}.bad{color:#b42318}.verdict.ok{background:#1e7b34;color:#fff}.verdict.bad{background:#b42318;color:#fff}
            table{border-collapse:collapse;width:100%;font-size:13px;margin-bottom:8px}
            th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
            th{background:#f5f7fa;font-weight:600}
            table.slo td,table.slo th{font-size:15px;padding:8px 10px}table.slo td:nth-child(-n+4){white-space:nowrap}
            code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11px;word-break:break-all}
            .charts{display:grid;grid-template-columns:1fr 1fr;gap:16px}
            figure{margin:0;border:1px solid #e4e7eb;border-radius:6px;padding:8px}
            figcaption{font-size:13px;font-weight:600;margin-bottom:4px}
            svg text{font-family:inherit;font-size:11px;fill:#52606d}
            .none{color:#7b8794;font-style:italic}
            """;

    private ReportHtml() {
    }

    /** The page as UTF-8 bytes. */
    public static byte[] render(Report r) {
        return renderString(r).getBytes(StandardCharsets.UTF_8);
    }

    /** The page. */
    public static String renderString(Report r) {
        StringBuilder h = new StringBuilder(16_384);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
                .append("<title>Backup SLO and compliance report ").append(esc(day(r.from()))).append(" – ")
                .append(esc(day(r.to()))).append("</title><style>").append(CSS).append("</style></head><body>\n");
        h.append("<h1>Backup SLO and compliance report</h1>");
        h.append("<p class=\"sub\">Period ").append(esc(TIME.format(r.from()))).append(" to ").append(esc(TIME.format(r.to())))
                .append(" · generated ").append(esc(TIME.format(r.generatedAt()))).append(" · ")
                .append(r.passed() ? "<span class=\"verdict ok\">ALL OBJECTIVES MET</span>"
                        : "<span class=\"verdict bad\">OBJECTIVES MISSED</span>").append("</p>\n");

        h.append("<h2>Service level objectives</h2><table class=\"slo\" id=\"slo\"><thead><tr><th>Objective</th><th>Achieved</th>")
                .append("<th>Target</th><th>Result</th><th>Basis</th></tr></thead><tbody>");
        for (Slo s : r.slos()) {
            h.append("<tr class=\"slo-row\"><td>").append(esc(s.name())).append("</td><td><b>").append(esc(s.achieved()))
                    .append("</b></td><td>").append(esc(s.target())).append("</td><td class=\"").append(s.met() ? "ok" : "bad")
                    .append("\"><b>").append(s.met() ? "PASS" : "FAIL").append("</b></td><td>").append(esc(s.basis()))
                    .append("</td></tr>");
        }
        h.append("</tbody></table>\n");

        h.append("<p>Newest verified backup: ").append(r.newestVerified() == null ? "<span class=\"bad\">none</span>"
                : "<code>" + esc(r.newestVerified()) + "</code>");
        for (Map.Entry<String, String> e : new TreeMap<>(r.newestVerifiedPerReplica()).entrySet()) {
            h.append(" · on replica <b>").append(esc(e.getKey())).append("</b>: <code>").append(esc(e.getValue())).append("</code>");
        }
        h.append("</p>\n");
        if (!r.tamperedAuditEntries().isEmpty()) {
            h.append("<p class=\"bad\" id=\"tampered\"><b>Audit entries that did not authenticate and were not counted (")
                    .append(r.tamperedAuditEntries().size()).append("):</b> ");
            r.tamperedAuditEntries().forEach(k -> h.append("<code>").append(esc(k)).append("</code> "));
            h.append("</p>\n");
        }

        h.append("<h2>Charts</h2><div class=\"charts\">");
        List<Instant> times = r.backups().stream().map(BackupEvidence::finishedAt).toList();
        figure(h, "Backup size (stored)", "chart-size", lineChart(r, times,
                r.backups().stream().map(b -> (double) b.storedBytes()).toList(), ReportHtml::bytes, null, "#2563eb"));
        figure(h, "Backup duration", "chart-duration", lineChart(r, times,
                r.backups().stream().map(b -> (double) b.duration().toMillis()).toList(),
                v -> ComplianceReport.human(Duration.ofMillis((long) v)), null, "#7c3aed"));
        figure(h, "RPO timeline: time without a new backup (target " + ComplianceReport.human(r.targets().rpo()) + ")",
                "chart-rpo", rpoChart(r));
        figure(h, "Restore drill RTO (target " + ComplianceReport.human(r.targets().rto()) + ")", "chart-rto", lineChart(r,
                r.drills().stream().map(Drill::at).toList(),
                r.drills().stream().map(d -> (double) d.rto().toMillis()).toList(),
                v -> ComplianceReport.human(Duration.ofMillis((long) v)), (double) r.targets().rto().toMillis(), "#0f766e"));
        h.append("</div>\n");

        h.append("<h2>Backups in the period</h2>");
        if (r.backups().isEmpty()) {
            h.append("<p class=\"none\">No backup finished in the period.</p>");
        } else {
            h.append("<table id=\"backups\"><thead><tr><th>Backup</th><th>Finished</th><th>Duration</th><th>Size in / stored</th>")
                    .append("<th>KEK</th><th>Objects (stored SHA-256)</th><th>Validations</th><th>Replicas</th></tr></thead><tbody>");
            for (BackupEvidence b : r.backups()) {
                h.append("<tr><td><code>").append(esc(b.id())).append("</code><br>").append(esc(b.type())).append("</td><td>")
                        .append(esc(TIME.format(b.finishedAt()))).append("</td><td>").append(esc(ComplianceReport.human(b.duration())))
                        .append("</td><td>").append(esc(bytes(b.plaintextBytes()))).append(" / ").append(esc(bytes(b.storedBytes())))
                        .append("</td><td>").append(b.kekId() == null ? "<span class=\"bad\">not encrypted</span>"
                                : "<code>" + esc(b.kekId()) + "</code>").append("</td><td>");
                for (ObjectEvidence o : b.objects()) {
                    h.append(esc(o.name())).append(" (").append(esc(bytes(o.storedBytes()))).append(")<br><code>")
                            .append(esc(o.storedSha256())).append("</code><br>");
                }
                h.append("</td><td>");
                if (b.validations().isEmpty()) {
                    h.append("<span class=\"bad\">none</span>");
                }
                for (ValidationEvidence v : b.validations()) {
                    h.append("<span class=\"").append(v.passed() ? "ok" : "bad").append("\">").append(v.passed() ? "✔ " : "✘ ")
                            .append(esc(v.validator())).append("</span> ").append(esc(TIME.format(v.finishedAt())));
                    String rto = v.measurements().get("rto_ms");
                    if (rto != null) {
                        h.append(", RTO ").append(esc(ComplianceReport.human(Duration.ofMillis(Long.parseLong(rto)))));
                    }
                    for (String f : v.findings()) {
                        h.append("<br><span class=\"bad\">").append(esc(f)).append("</span>");
                    }
                    h.append("<br>");
                }
                h.append("</td><td>");
                if (b.replicas().isEmpty()) {
                    h.append("<span class=\"none\">none</span>");
                }
                new TreeMap<>(b.replicas()).forEach((name, ok) -> h.append("<span class=\"").append(ok ? "ok" : "bad").append("\">")
                        .append(ok ? "✔ " : "✘ ").append(esc(name)).append("</span><br>"));
                h.append("</td></tr>");
            }
            h.append("</tbody></table>\n");
        }

        List<Attempt> failures = r.attempts().stream().filter(a -> !a.succeeded()).toList();
        h.append("<h2>Failed backups</h2>");
        events(h, "failures", failures.stream().map(a -> new String[] {TIME.format(a.at()), a.backupId(), a.detail()}).toList(),
                "No backup failed in the period.", "When", "Backup", "What failed");
        h.append("<h2>Deletions</h2>");
        events(h, "deletions", rows(r.deletions()), "Nothing was deleted in the period.", "When", "Backup", "Reason", "By");
        h.append("<h2>Key operations</h2>");
        events(h, "keys", rows(r.keyOperations()), "No key was rotated, rewrapped or erased in the period.", "When",
                "Key", "Operation", "By");
        h.append("<p class=\"sub\">Evidence read from the repository's authenticated catalog, validation records and audit log.</p>");
        h.append("</body></html>\n");
        return h.toString();
    }

    private static List<String[]> rows(List<AuditEvent> events) {
        List<String[]> out = new ArrayList<>();
        for (AuditEvent e : events) {
            out.add(new String[] {TIME.format(e.at()), e.subject(), e.action().toLowerCase(Locale.ROOT).replace('_', ' ') + ": "
                    + e.detail(), e.principal() + "@" + e.host()});
        }
        return out;
    }

    private static void events(StringBuilder h, String id, List<String[]> rows, String none, String... headers) {
        if (rows.isEmpty()) {
            h.append("<p class=\"none\" id=\"").append(id).append("\">").append(esc(none)).append("</p>\n");
            return;
        }
        h.append("<table id=\"").append(id).append("\"><thead><tr>");
        for (String c : headers) {
            h.append("<th>").append(esc(c)).append("</th>");
        }
        h.append("</tr></thead><tbody>");
        for (String[] row : rows) {
            h.append("<tr>");
            for (String c : row) {
                h.append("<td>").append(esc(c)).append("</td>");
            }
            h.append("</tr>");
        }
        h.append("</tbody></table>\n");
    }

    private static void figure(StringBuilder h, String caption, String id, String svg) {
        h.append("<figure id=\"").append(id).append("\"><figcaption>").append(esc(caption)).append("</figcaption>")
                .append(svg).append("</figure>");
    }

    /** Points over the report period with a y axis from zero, and an optional dashed target line. */
    private static String lineChart(Report r, List<Instant> xs, List<Double> ys, DoubleFunction<String> label, Double target,
                                    String colour) {
        StringBuilder s = svgStart();
        if (xs.isEmpty()) {
            return s.append(text(W / 2.0, H / 2.0, "middle", "no data in the period")).append("</svg>").toString();
        }
        double max = ys.stream().mapToDouble(Double::doubleValue).max().orElse(1);
        if (target != null) {
            max = Math.max(max, target);
        }
        max = max <= 0 ? 1 : max * 1.1;
        axes(s, r, max, label);
        if (target != null) {
            double y = y(target, max);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#b42318\" "
                    + "stroke-dasharray=\"5 4\"/>", LEFT, y, W - RIGHT, y));
            s.append(text(W - RIGHT, y - 4, "end", "target " + label.apply(target)));
        }
        StringBuilder path = new StringBuilder();
        for (int i = 0; i < xs.size(); i++) {
            path.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.1f,%.1f", x(r, xs.get(i)), y(ys.get(i), max)));
        }
        s.append("<polyline fill=\"none\" stroke=\"").append(colour).append("\" stroke-width=\"2\" points=\"").append(path).append("\"/>");
        for (int i = 0; i < xs.size(); i++) {
            boolean over = target != null && ys.get(i) > target;
            s.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>%s: %s</title></circle>",
                    x(r, xs.get(i)), y(ys.get(i), max), over ? "#b42318" : colour, esc(TIME.format(xs.get(i))),
                    esc(label.apply(ys.get(i)))));
        }
        return s.append("</svg>").toString();
    }

    /** Each gap between backups as a bar whose height is its length; red above the RPO target. */
    private static String rpoChart(Report r) {
        StringBuilder s = svgStart();
        if (r.rpoTimeline().isEmpty()) {
            return s.append(text(W / 2.0, H / 2.0, "middle", "no backups in the period")).append("</svg>").toString();
        }
        double target = r.targets().rpo().toMillis();
        double max = Math.max(target, r.rpoTimeline().stream().mapToDouble(g -> g.length().toMillis()).max().orElse(1)) * 1.1;
        DoubleFunction<String> label = v -> ComplianceReport.human(Duration.ofMillis((long) v));
        axes(s, r, max, label);
        for (Gap g : r.rpoTimeline()) {
            double x1 = x(r, g.start().isBefore(r.from()) ? r.from() : g.start());
            double x2 = Math.max(x1 + 1.5, x(r, g.end()));
            double y = y(g.length().toMillis(), max);
            s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                            + "fill-opacity=\"0.75\" stroke=\"#fff\"><title>%s to %s: %s</title></rect>", x1, y, x2 - x1,
                    H - BOTTOM - y, g.withinTarget() ? "#1e7b34" : "#b42318", esc(TIME.format(g.start())),
                    esc(TIME.format(g.end())), esc(label.apply(g.length().toMillis()))));
        }
        double ty = y(target, max);
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#b42318\" "
                + "stroke-dasharray=\"5 4\"/>", LEFT, ty, W - RIGHT, ty));
        s.append(text(W - RIGHT, ty - 4, "end", "target " + label.apply(target)));
        return s.append("</svg>").toString();
    }

    private static StringBuilder svgStart() {
        return new StringBuilder().append("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").append(W).append(' ')
                .append(H).append("\" width=\"100%\" role=\"img\">");
    }

    private static void axes(StringBuilder s, Report r, double max, DoubleFunction<String> label) {
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#9aa5b1\"/>", LEFT, H - BOTTOM,
                W - RIGHT, H - BOTTOM));
        s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#9aa5b1\"/>", LEFT, TOP, LEFT,
                H - BOTTOM));
        for (int i = 1; i <= 2; i++) {
            double v = max / 1.1 * i / 2;
            double y = y(v, max);
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e7eb\"/>", LEFT, y,
                    W - RIGHT, y));
            s.append(text(LEFT - 4, y + 4, "end", label.apply(v)));
        }
        s.append(text(LEFT - 4, H - BOTTOM + 4, "end", "0"));
        DateTimeFormatter d = DateTimeFormatter.ofPattern("MM-dd HH:mm").withZone(ZoneOffset.UTC);
        s.append(text(LEFT, H - BOTTOM + 16, "start", d.format(r.from())));
        s.append(text(W - RIGHT, H - BOTTOM + 16, "end", d.format(r.to())));
    }

    private static double x(Report r, Instant t) {
        double span = Duration.between(r.from(), r.to()).toMillis();
        double at = Duration.between(r.from(), t).toMillis();
        return LEFT + (W - LEFT - RIGHT) * Math.max(0, Math.min(1, at / span));
    }

    private static double y(double v, double max) {
        return H - BOTTOM - (H - TOP - BOTTOM) * (v / max);
    }

    private static String text(double x, double y, String anchor, String t) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>", x, y, anchor, esc(t));
    }

    private static String day(Instant t) {
        return DateTimeFormatter.ISO_LOCAL_DATE.withZone(ZoneOffset.UTC).format(t);
    }

    static String bytes(double b) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        while (b >= 1024 && u < units.length - 1) {
            b /= 1024;
            u++;
        }
        return u == 0 ? String.format(Locale.ROOT, "%.0f B", b) : String.format(Locale.ROOT, "%.1f %s", b, units[u]);
    }

    /** HTML-escapes text for element content and quoted attribute values. */
    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
