package dev.backstop.cli;

import dev.backstop.cli.config.ConfigException;
import dev.backstop.core.event.AuditLog;
import dev.backstop.core.DamagedObject;
import dev.backstop.core.report.ComplianceReport;
import dev.backstop.core.report.Report;
import dev.backstop.core.report.ReportHtml;
import dev.backstop.core.report.ReportJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** The commands that show what happened: the audit log and the SLO and compliance report. */
final class Evidence {
    private Evidence() {
    }

    /**
     * A point in time as the command line takes it: an instant ({@code 2026-12-01T00:00:00Z}), a
     * day ({@code 2026-12-01}, its start in the configured zone), or an age ({@code 7d}, {@code
     * 12h}: that long before now).
     */
    record When(String text) {
        Instant resolve(Instant now, ZoneId zone) {
            if (text.matches("\\d{1,9}[smhdw]")) {
                return now.minus(dev.backstop.cli.config.BackstopConfig.duration(text));
            }
            try {
                return text.length() == 10 ? LocalDate.parse(text).atStartOfDay(zone).toInstant() : Instant.parse(text);
            } catch (DateTimeException e) {
                // the converter accepted it; a value that parses nowhere never gets here
                throw new IllegalStateException(text, e);
            }
        }

        /** Checks the form when the option is parsed, so a typo is a usage error. */
        static final class Converter implements ITypeConverter<When> {
            @Override
            public When convert(String value) {
                When w = new When(value.trim());
                try {
                    w.resolve(Instant.EPOCH, ZoneId.of("UTC"));
                } catch (IllegalStateException | IllegalArgumentException e) {
                    throw new TypeConversionException("got \"" + value + "\", expected an instant like 2026-12-01T00:00:00Z, "
                            + "a day like 2026-12-01, or an age like 7d or 12h");
                }
                return w;
            }
        }
    }

    @Command(name = "audit", description = "Show the audit log: every backup, failed backup, restore, drill, expiry "
            + "deletion and key operation, with time, host, OS user and principal. Every entry is authenticated; an entry "
            + "that is not is reported as tampered and the exit code is 3.")
    static final class AuditCommand extends Commands.Scriptable {
        @Option(names = "--from", paramLabel = "WHEN", converter = When.Converter.class,
                description = "Entries at or after WHEN: an instant (2026-12-01T00:00:00Z), a day (2026-12-01, in the "
                        + "configured zone) or an age (7d). Default: the first entry.")
        When from;

        @Option(names = "--to", paramLabel = "WHEN", converter = When.Converter.class,
                description = "Entries before WHEN (same forms). Default: now.")
        When to;

        @Option(names = "--action", paramLabel = "ACTION", split = ",",
                description = "Only these actions (repeatable or comma-separated): ${COMPLETION-CANDIDATES}.")
        List<AuditLog.Action> actions;

        @Override
        int run(Context ctx) {
            requireKey(ctx, "audit");
            Instant now = Clock.systemUTC().instant();
            ZoneId zone = ctx.config().zone();
            Instant start = from == null ? Instant.EPOCH : from.resolve(now, zone);
            // "now" includes an entry appended this millisecond
            Instant end = to == null ? now.plusMillis(1) : to.resolve(now, zone);
            Set<AuditLog.Action> wanted = actions == null || actions.isEmpty() ? EnumSet.allOf(AuditLog.Action.class)
                    : EnumSet.copyOf(actions);
            AuditLog.Read read = ctx.auditLog().read(start, end);
            List<AuditLog.Entry> shown = read.entries().stream().filter(e -> wanted.contains(e.action())).toList();
            if (json) {
                List<Map<String, Object>> rows = new ArrayList<>();
                for (AuditLog.Entry e : shown) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("at", e.at().toString());
                    row.put("action", e.action().name());
                    row.put("subject", e.subject());
                    row.put("detail", e.detail());
                    row.put("host", e.host());
                    row.put("osUser", e.osUser());
                    row.put("principal", e.principal());
                    rows.add(row);
                }
                List<Map<String, String>> bad = read.tampered().stream()
                        .map(d -> Map.of("key", d.key(), "reason", d.reason())).toList();
                printJson(Map.of("entries", rows, "tampered", bad));
            } else {
                String format = "%-24s %-15s %-40s %-24s %-10s %s";
                print(String.format(Locale.ROOT, format, "AT", "ACTION", "SUBJECT", "HOST", "USER", "DETAIL"));
                for (AuditLog.Entry e : shown) {
                    print(String.format(Locale.ROOT, format, e.at(), e.action(), e.subject(), e.host(), e.osUser(), e.detail()));
                }
                read.tampered().forEach(d -> print("TAMPERED " + d.key() + ": " + d.reason()));
            }
            if (!read.tampered().isEmpty()) {
                throw new Commands.CheckFailed(read.tampered().size() + " audit entries do not authenticate: "
                        + String.join(", ", read.tampered().stream().map(DamagedObject::key).toList()));
            }
            return Backstop.OK;
        }
    }

    /** The report's output formats. */
    enum Format {
        JSON, HTML
    }

    @Command(name = "report", description = "The SLO and compliance report of a period: backup success rate, validation "
            + "pass rate, achieved RPO and RTO against observability.slo, the newest verified backup, and the evidence "
            + "for each backup (digests, validations, KEK), deletions with their reasons and key operations; from the "
            + "catalog, the validation records and the audit log. As JSON or as one self-contained HTML page.")
    static final class ReportCommand extends Commands.Base {
        @Option(names = "--from", paramLabel = "WHEN", converter = When.Converter.class,
                description = "Start of the period (an instant, a day in the configured zone, or an age like 30d). "
                        + "Default: 30 days before --to.")
        When from;

        @Option(names = "--to", paramLabel = "WHEN", converter = When.Converter.class,
                description = "End of the period, exclusive (same forms). Default: now.")
        When to;

        @Option(names = "--format", paramLabel = "FORMAT", description = "json or html. Default: html when --out ends "
                + "in .html or .htm, else json.")
        Format format;

        @Option(names = "--out", paramLabel = "FILE", description = "Write the report to FILE instead of stdout.")
        Path out;

        @Override
        int run(Context ctx) throws IOException {
            requireKey(ctx, "report");
            Instant now = Clock.systemUTC().instant();
            ZoneId zone = ctx.config().zone();
            Instant end = to == null ? now : to.resolve(now, zone);
            Instant start = from == null ? end.minus(Duration.ofDays(30)) : from.resolve(now, zone);
            if (!end.isAfter(start)) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "--to (" + end + ") must be after --from (" + start + ")");
            }
            Report r = ComplianceReport.builder(ctx.keyedRepository()).auditLog(ctx.auditLog())
                    .targets(ctx.config().observability().slo()).build().generate(start, end);
            Format f = format != null ? format
                    : out != null && out.getFileName().toString().toLowerCase(Locale.ROOT).matches(".*\\.html?") ? Format.HTML
                    : Format.JSON;
            byte[] bytes = f == Format.HTML ? ReportHtml.render(r) : ReportJson.write(r);
            if (out == null) {
                root.out.print(new String(bytes, StandardCharsets.UTF_8));
                root.out.flush();
            } else {
                Files.write(out, bytes);
                long met = r.slos().stream().filter(Report.Slo::met).count();
                root.err.println("report " + start + " to " + end + " written to " + out + ": " + met + " of "
                        + r.slos().size() + " objectives met");
            }
            return Backstop.OK;
        }
    }

    private static void requireKey(Context ctx, String command) {
        if (ctx.kek().isEmpty()) {
            throw new ConfigException("backup.encryption", command + " reads authenticated records, which need the "
                    + "key-encryption key; this configuration has \"none\": true");
        }
    }
}
