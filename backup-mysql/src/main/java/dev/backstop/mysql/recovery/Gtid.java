package dev.backstop.mysql.recovery;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A MariaDB global transaction id, {@code domain-server-sequence} ({@code 0-1-42}): the
 * transaction numbered {@code sequence} in replication domain {@code domain}, first logged by
 * server {@code server}.
 */
public record Gtid(long domain, long server, long sequence) {
    private static final Pattern FORM = Pattern.compile("(\\d{1,10})-(\\d{1,10})-(\\d{1,20})");

    public Gtid {
        if (domain < 0 || domain > 0xffffffffL || server < 0 || server > 0xffffffffL || sequence < 0) {
            throw new IllegalArgumentException("gtid: got " + domain + "-" + server + "-" + sequence + ", need domain and server "
                    + "0..4294967295 and a sequence number >= 0");
        }
    }

    /**
     * Parses {@code domain-server-sequence}.
     *
     * @throws IllegalArgumentException quoting {@code text} if it is not one GTID
     */
    public static Gtid parse(String text) {
        Matcher m = FORM.matcher(Objects.requireNonNull(text, "text").strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("gtid: got '" + text + "', need domain-server-sequence such as 0-1-42");
        }
        try {
            return new Gtid(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseUnsignedLong(m.group(3)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("gtid: got '" + text + "', a number is out of range", e);
        }
    }

    /**
     * Parses a GTID position ({@code @@gtid_binlog_pos}: comma-separated GTIDs, at most one per
     * domain; empty for none) into a map by domain.
     *
     * @throws IllegalArgumentException quoting the text if it is not that
     */
    public static Map<Long, Gtid> parsePosition(String text) {
        Map<Long, Gtid> out = new LinkedHashMap<>();
        for (String part : Objects.requireNonNull(text, "text").split(",")) {
            if (part.isBlank()) {
                continue;
            }
            Gtid g = parse(part);
            if (out.put(g.domain(), g) != null) {
                throw new IllegalArgumentException("gtid position: got '" + text + "', domain " + g.domain() + " appears twice");
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /** {@code positions} as a GTID position string, by domain. */
    static String format(Map<Long, Gtid> position) {
        List<Long> domains = new ArrayList<>(position.keySet());
        Collections.sort(domains);
        List<String> parts = new ArrayList<>();
        for (Long d : domains) {
            parts.add(position.get(d).toString());
        }
        return String.join(",", parts);
    }

    @Override
    public String toString() {
        return domain + "-" + server + "-" + Long.toUnsignedString(sequence);
    }
}
