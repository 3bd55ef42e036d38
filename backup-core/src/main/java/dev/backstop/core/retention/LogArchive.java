package dev.backstop.core.retention;

import java.io.IOException;
import java.util.List;

/**
 * The archived logs retention may expire; retention only needs to see each segment's range and to
 * delete one. The log archive of every engine, {@link dev.backstop.core.log.LogStore}, implements
 * it (PostgreSQL's WAL archive through it).
 *
 * <p><b>Guarantees an implementation must give.</b> {@link #segments()} lists only what is durably
 * archived, each position once per segment: a segment whose beginning is archived in pieces (WAL
 * deltas of the segment being received) is listed once, with the range those pieces hold, never
 * once per piece. {@link #delete} of a missing segment is not an error (expiry is re-run
 * after a crash). Deleting a segment under object lock throws {@link
 * dev.backstop.core.ObjectLockedException}.
 *
 * <p><b>Threading.</b> Called from one thread at a time by the expiry.
 */
public interface LogArchive {

    /** Every archived segment, in any order. */
    List<LogSegment> segments() throws IOException;

    /** Deletes one segment. */
    void delete(LogSegment segment) throws IOException;

    /** An archive that holds nothing: for repositories of logical backups only. */
    LogArchive NONE = new LogArchive() {
        @Override
        public List<LogSegment> segments() {
            return List.of();
        }

        @Override
        public void delete(LogSegment segment) {
        }
    };
}
