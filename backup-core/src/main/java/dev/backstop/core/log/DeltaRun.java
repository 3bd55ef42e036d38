package dev.backstop.core.log;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * What the delta objects of one unfinished file amount to: the gap-free {@code chain} from offset
 * 0 that a reader may use, and the {@code stranded} deltas it cannot reach because one before
 * them is missing.
 */
public record DeltaRun(List<LogDelta> chain, List<LogDelta> stranded) {
    public DeltaRun {
        chain = List.copyOf(chain);
        stranded = List.copyOf(stranded);
    }

    /**
     * The run of {@code deltas}: at each position the delta starting there that reaches furthest
     * (a restarted writer never re-uploads a range, but a longer delta wins if one does).
     */
    public static DeltaRun of(Collection<LogDelta> deltas) {
        List<LogDelta> chain = new ArrayList<>();
        long pos = 0;
        while (true) {
            LogDelta best = null;
            for (LogDelta d : deltas) {
                if (d.from() == pos && (best == null || d.to() > best.to())) {
                    best = d;
                }
            }
            if (best == null) {
                break;
            }
            chain.add(best);
            pos = best.to();
        }
        List<LogDelta> stranded = new ArrayList<>();
        for (LogDelta d : deltas) {
            if (d.from() > pos || d.from() < pos && !chain.contains(d) && d.to() > pos) {
                stranded.add(d);
            }
        }
        return new DeltaRun(chain, stranded);
    }

    /** The offset just past the last byte the chain holds; 0 if no delta starts at offset 0. */
    public long end() {
        return chain.isEmpty() ? 0 : chain.get(chain.size() - 1).to();
    }

    /** Whether deltas exist that the chain cannot reach. */
    public boolean hasGap() {
        return !stranded.isEmpty();
    }
}
