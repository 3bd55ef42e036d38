package dev.backstop.benchmarks;

import dev.backstop.core.DataSize;
import dev.backstop.core.StorageTier;
import dev.backstop.core.retention.LogRetention;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import dev.backstop.core.retention.TierSchedule;
import java.io.PrintStream;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Command line front of {@link RetentionSimulation}: tune a retention policy before adopting it.
 *
 * <pre>
 * java dev.backstop.benchmarks.RetentionSimulator --days 400 --every P1D \
 *     --policy last=7,daily=14,weekly=8,monthly=12,yearly=3,window=7d --logs contiguous
 * </pre>
 * Run with {@code --help} for every option.
 */
public final class RetentionSimulator {
    /** Illustrative monthly prices per GiB (S3 Standard, Standard-IA, Glacier IR, Deep Archive list prices). */
    private static final Map<StorageTier, Double> PRICE = Map.of(StorageTier.HOT, 0.023, StorageTier.WARM, 0.0125,
            StorageTier.COLD, 0.004, StorageTier.ARCHIVE, 0.00099);

    private static final String USAGE = """
            RetentionSimulator: replay backups on a schedule under a retention policy and report storage
            and recovery-point coverage over time.

              --days N            days to simulate (default 400)
              --every DURATION    time between backups: P1D, PT6H, 12h ... (default P1D)
              --at HH:MM          local time of the first backup of a day (default 02:00)
              --zone ZONE         time zone of calendar buckets and schedule (default UTC)
              --policy SPEC       comma list of last=N, atleast=N, hourly=N, daily=N, weekly=N,
                                  monthly=N, yearly=N, within=DURATION, window=DURATION
                                  (default last=7,daily=14,weekly=8,monthly=12,window=7d)
              --logs MODE         contiguous (keep logs from the oldest kept backup on) or needed
                                  (default contiguous)
              --tiers SPEC        none, or hot/warm/cold ages in days like 30,90 (default 30,90)
              --size SIZE         first full backup, stored (default 10GiB)
              --growth PERCENT    backup growth per day (default 0.1)
              --wal SIZE          archived log volume per day (default 2GiB)
              --fail-rate RATE    share of backups whose validation fails, 0..1 (default 0.02)
              --seed N            random seed (default 42)
              --report-every N    print every Nth day (default 30)
              --change PERCENT    pages changed per day, for the comparison with increments (default 5)
              --full-every N      increments' chain limit and differentials' cycle: a full, then
                                  N-1 incr or diff backups (default 7)
            """;

    private RetentionSimulator() {
    }

    public static void main(String[] args) {
        Map<String, String> opt = parse(args);
        if (opt.containsKey("help")) {
            System.out.print(USAGE);
            return;
        }
        ZoneId zone = ZoneId.of(opt.getOrDefault("zone", "UTC"));
        String policyText = opt.getOrDefault("policy", "last=7,daily=14,weekly=8,monthly=12,window=7d");
        RetentionPlanner.Builder planner = RetentionPlanner.builder().policy(policy(policyText, zone))
                .logRetention(LogRetention.valueOf(opt.getOrDefault("logs", "contiguous").toUpperCase(Locale.ROOT)));
        String tiers = opt.getOrDefault("tiers", "30,90");
        if (!tiers.equals("none")) {
            String[] ages = tiers.split(",");
            TierSchedule schedule = TierSchedule.startingIn(StorageTier.HOT);
            StorageTier[] colder = {StorageTier.WARM, StorageTier.COLD, StorageTier.ARCHIVE};
            for (int i = 0; i < ages.length; i++) {
                schedule = schedule.then(colder[i], Duration.ofDays(Long.parseLong(ages[i].trim())));
            }
            planner.tiers(schedule);
        }
        RetentionSimulation.Settings s = new RetentionSimulation.Settings(
                Integer.parseInt(opt.getOrDefault("days", "400")),
                duration(opt.getOrDefault("every", "P1D")),
                LocalTime.parse(opt.getOrDefault("at", "02:00")), LocalTime.of(4, 0), zone, planner.build(),
                DataSize.parse(opt.getOrDefault("size", "10GiB")).bytes(),
                Double.parseDouble(opt.getOrDefault("growth", "0.1")),
                DataSize.parse(opt.getOrDefault("wal", "2GiB")).bytes(),
                Double.parseDouble(opt.getOrDefault("fail-rate", "0.02")),
                Long.parseLong(opt.getOrDefault("seed", "42")));
        List<RetentionSimulation.Day> days = RetentionSimulation.run(s);
        int every = Integer.parseInt(opt.getOrDefault("report-every", "30"));
        print(System.out, days, every, policyText, opt);
        double change = Double.parseDouble(opt.getOrDefault("change", "5"));
        int fullEvery = Integer.parseInt(opt.getOrDefault("full-every", "7"));
        Map<String, List<RetentionSimulation.Day>> runs = new LinkedHashMap<>();
        runs.put("all full", days);
        runs.put("full+incr", RetentionSimulation.run(s, new RetentionSimulation.Schedule(RetentionSimulation.Level.INCR,
                fullEvery, change)));
        runs.put("full+diff", RetentionSimulation.run(s, new RetentionSimulation.Schedule(RetentionSimulation.Level.DIFF,
                fullEvery, change)));
        printComparison(System.out, runs, every, change, fullEvery);
    }

    /**
     * Stored backup bytes, backups kept and the longest restore chain over time, one column group per run of
     * {@code runs} (the first is the reference), then each run's peak and bytes written relative
     * to the first.
     */
    static void printComparison(PrintStream out, Map<String, List<RetentionSimulation.Day>> runs, int every, double change,
                                int fullEvery) {
        out.printf(Locale.ROOT, "%nwith increments: %.1f %% of pages changed per day, a full backup every %d backups "
                + "(the incr chain limit, the diff cycle); backups only, logs as above%n%n", change, fullEvery);
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%5s  %-10s", "day", "date"));
        for (String name : runs.keySet()) {
            head.append(String.format(Locale.ROOT, "  %10s  %4s  %5s", name, "kept", "chain"));
        }
        out.println(head);
        List<List<RetentionSimulation.Day>> all = new ArrayList<>(runs.values());
        List<RetentionSimulation.Day> first = all.get(0);
        for (int i = 0; i < first.size(); i++) {
            RetentionSimulation.Day d = first.get(i);
            if (d.day() % every != 0 && d.day() != first.size()) {
                continue;
            }
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%5d  %-10s", d.day(), d.date()));
            for (List<RetentionSimulation.Day> run : all) {
                RetentionSimulation.Day x = run.get(i);
                row.append(String.format(Locale.ROOT, "  %10s  %4d  %5d", size(x.backupBytes()), x.backups(), x.longestChain()));
            }
            out.println(row);
        }
        out.println();
        long peak0 = peak(first);
        long written0 = first.get(first.size() - 1).writtenBytes();
        for (Map.Entry<String, List<RetentionSimulation.Day>> e : runs.entrySet()) {
            List<RetentionSimulation.Day> run = e.getValue();
            long peak = peak(run);
            long written = run.get(run.size() - 1).writtenBytes();
            int broken = run.stream().mapToInt(RetentionSimulation.Day::brokenChains).max().orElse(0);
            out.printf(Locale.ROOT, "%-10s peak stored %10s (%.2fx), written %10s (%.2fx), longest chain %d%s%n", e.getKey(),
                    size(peak), peak / (double) Math.max(1, peak0), size(written), written / (double) Math.max(1, written0),
                    run.stream().mapToInt(RetentionSimulation.Day::longestChain).max().orElse(0),
                    broken == 0 ? "" : ", " + broken + " kept backups without their chain");
        }
    }

    private static long peak(List<RetentionSimulation.Day> run) {
        return run.stream().mapToLong(RetentionSimulation.Day::backupBytes).max().orElse(0);
    }

    static void print(PrintStream out, List<RetentionSimulation.Day> days, int every, String policy, Map<String, String> opt) {
        out.printf(Locale.ROOT, "policy %s, logs %s, tiers %s, zone %s%n%n", policy, opt.getOrDefault("logs", "contiguous"),
                opt.getOrDefault("tiers", "30,90"), opt.getOrDefault("zone", "UTC"));
        out.printf(Locale.ROOT, "%5s  %-10s  %7s  %8s  %10s  %10s  %10s  %10s  %10s  %11s  %9s  %9s%n", "day", "date",
                "backups", "verified", "backups", "logs", "hot", "warm", "cold", "oldest rp", "pitr", "$/month");
        double peak = 0;
        double sum = 0;
        Duration minPitr = null;
        for (RetentionSimulation.Day d : days) {
            double cost = cost(d);
            peak = Math.max(peak, d.totalBytes());
            sum += d.totalBytes();
            if (d.day() > 30) {
                minPitr = minPitr == null || d.pitrReach().compareTo(minPitr) < 0 ? d.pitrReach() : minPitr;
            }
            if (d.day() % every == 0 || d.day() == days.size()) {
                out.printf(Locale.ROOT, "%5d  %-10s  %7d  %8d  %10s  %10s  %10s  %10s  %10s  %10.1fd  %8.1fd  %9.2f%n",
                        d.day(), d.date(), d.backups(), d.verified(), size(d.backupBytes()), size(d.logBytes()),
                        size(d.bytesByTier().getOrDefault(StorageTier.HOT, 0L)),
                        size(d.bytesByTier().getOrDefault(StorageTier.WARM, 0L)),
                        size(d.bytesByTier().getOrDefault(StorageTier.COLD, 0L)
                                + d.bytesByTier().getOrDefault(StorageTier.ARCHIVE, 0L)),
                        d.oldestRestorePoint().toHours() / 24.0, d.pitrReach().toHours() / 24.0, cost);
            }
        }
        out.printf(Locale.ROOT, "%npeak storage %s, mean %s; shortest point-in-time reach after day 30: %s%n",
                size((long) peak), size((long) (sum / Math.max(1, days.size()))),
                minPitr == null ? "n/a" : String.format(Locale.ROOT, "%.1f days", minPitr.toHours() / 24.0));
        out.println("($/month uses illustrative S3 list prices per GiB-month: hot 0.023, warm 0.0125, cold 0.004)");
    }

    static double cost(RetentionSimulation.Day d) {
        double c = 0;
        for (Map.Entry<StorageTier, Long> e : d.bytesByTier().entrySet()) {
            c += e.getValue() / (double) (1L << 30) * PRICE.get(e.getKey());
        }
        return c;
    }

    static RetentionPolicy policy(String spec, ZoneId zone) {
        List<RetentionPolicy> rules = new ArrayList<>();
        for (String part : spec.split(",")) {
            String[] kv = part.trim().split("=", 2);
            if (kv.length != 2) {
                throw new IllegalArgumentException("policy: got '" + part + "', expected key=value");
            }
            String v = kv[1].trim();
            rules.add(switch (kv[0].trim()) {
                case "last" -> RetentionPolicy.keepLast(Integer.parseInt(v));
                case "atleast" -> RetentionPolicy.keepAtLeast(Integer.parseInt(v));
                case "hourly" -> RetentionPolicy.keepHourly(Integer.parseInt(v), zone);
                case "daily" -> RetentionPolicy.keepDaily(Integer.parseInt(v), zone);
                case "weekly" -> RetentionPolicy.keepWeekly(Integer.parseInt(v), zone);
                case "monthly" -> RetentionPolicy.keepMonthly(Integer.parseInt(v), zone);
                case "yearly" -> RetentionPolicy.keepYearly(Integer.parseInt(v), zone);
                case "within" -> RetentionPolicy.keepWithin(duration(v));
                case "window" -> RetentionPolicy.keepRecoveryWindow(duration(v));
                default -> throw new IllegalArgumentException("policy: unknown rule '" + kv[0]
                        + "', allowed: last, atleast, hourly, daily, weekly, monthly, yearly, within, window");
            });
        }
        return RetentionPolicy.allOf(rules);
    }

    /** ISO-8601 ({@code P7D}, {@code PT6H}) or shorthand ({@code 7d}, {@code 6h}, {@code 30m}). */
    static Duration duration(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.startsWith("p")) {
            return Duration.parse(text.trim().toUpperCase(Locale.ROOT));
        }
        long n = Long.parseLong(t.substring(0, t.length() - 1));
        return switch (t.charAt(t.length() - 1)) {
            case 'd' -> Duration.ofDays(n);
            case 'h' -> Duration.ofHours(n);
            case 'm' -> Duration.ofMinutes(n);
            default -> throw new IllegalArgumentException("duration: got '" + text + "', expected e.g. P7D, 7d, 12h, 30m");
        };
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("argument: got '" + args[i] + "', expected --option value (see --help)");
            }
            String key = args[i].substring(2);
            if (key.equals("help")) {
                opt.put(key, "");
            } else if (i + 1 < args.length) {
                opt.put(key, args[++i]);
            } else {
                throw new IllegalArgumentException("option --" + key + " needs a value");
            }
        }
        return opt;
    }

    private static String size(long bytes) {
        return DataSize.ofBytes(bytes).toString();
    }
}
