package dev.backstop.postgres.wal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The delta objects of one unfinished segment: immutable byte ranges {@code [from, to)} stored
 * under {@code <segment key>.deltas/<from>-<to>} (8 hex digits each, so keys sort by offset), and
 * the run of them that recovery may use. Pure functions over names; {@link WalArchive} does the I/O.
 *
 * <p>Why not {@code <segment>.partial/...}: PostgreSQL archives real {@code .partial} files at a
 * promotion, and on a filesystem an object and a directory cannot share that name.
 */
final class SegmentDeltas {
    static final String DIR = ".deltas/";
    private static final Pattern RANGE = Pattern.compile("([0-9A-F]{8})-([0-9A-F]{8})");

    /** One delta object: {@code key} of its data object holds bytes {@code [from, to)} of its segment. */
    record Delta(String key, long from, long to) {
        long bytes() {
            return to - from;
        }
    }

    /** What the listed deltas of a segment amount to. */
    record Run(List<Delta> chain, List<Delta> stranded) {
        /** The offset just past the last byte the chain holds; 0 if no delta starts at offset 0. */
        long end() {
            return chain.isEmpty() ? 0 : chain.get(chain.size() - 1).to;
        }

        /** Whether deltas exist that the chain cannot reach: one is missing before them. */
        boolean hasGap() {
            return !stranded.isEmpty();
        }
    }

    private SegmentDeltas() {
    }

    /** {@code <from>-<to>}, the last part of a delta's key. */
    static String rangeName(long from, long to) {
        return String.format(Locale.ROOT, "%08X-%08X", from, to);
    }

    /** The delta a data-object key names, or null if {@code key} is no delta's (a whole file, a metadata object). */
    static Delta parse(String key) {
        int dir = key.lastIndexOf(DIR);
        if (dir < 0) {
            return null;
        }
        Matcher m = RANGE.matcher(key.substring(dir + DIR.length()));
        if (!m.matches()) {
            return null;
        }
        long from = Long.parseLong(m.group(1), 16);
        long to = Long.parseLong(m.group(2), 16);
        if (from >= to || to > WalFile.SEGMENT_BYTES) {
            return null;
        }
        return new Delta(key, from, to);
    }

    /** The key of the whole segment the delta key {@code key} belongs to; {@code key} must contain {@link #DIR}. */
    static String segmentKeyOf(String key) {
        return key.substring(0, key.lastIndexOf(DIR));
    }

    /**
     * The gap-free run from offset 0: at each position the delta starting there that reaches
     * furthest (a restarted receiver never re-uploads a range, but a longer delta wins if one
     * does). Deltas starting past the run's end are stranded behind a missing one.
     */
    static Run run(Collection<Delta> deltas) {
        List<Delta> chain = new ArrayList<>();
        long pos = 0;
        while (true) {
            Delta best = null;
            for (Delta d : deltas) {
                if (d.from == pos && (best == null || d.to > best.to)) {
                    best = d;
                }
            }
            if (best == null) {
                break;
            }
            chain.add(best);
            pos = best.to;
        }
        List<Delta> stranded = new ArrayList<>();
        for (Delta d : deltas) {
            if (d.from > pos || d.from < pos && !chain.contains(d) && d.to > pos) {
                stranded.add(d);
            }
        }
        return new Run(List.copyOf(chain), List.copyOf(stranded));
    }
}
