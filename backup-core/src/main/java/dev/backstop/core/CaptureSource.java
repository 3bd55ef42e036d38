package dev.backstop.core;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Produces the bytes of one consistent backup and says what was captured.
 *
 * <p><b>Contract.</b> {@link #capture} opens one or more named streams, writes each fully and
 * closes it, then returns. It returns normally only if everything it wrote is complete and
 * consistent (for a process: it exited 0). Any failure must be thrown, never swallowed: the
 * pipeline publishes nothing unless {@code capture} returns. Closing a stream ends it; it does
 * not publish it.
 *
 * <p><b>Threading.</b> Called once per backup from one thread; a source may be reused for later
 * backups.
 */
public interface CaptureSource {

    /** The kind of backup this source takes; becomes part of the backup id. */
    BackupType type();

    /** Writes the backup into {@code streams} and reports what it captured. */
    CaptureResult capture(Streams streams) throws IOException;

    /** Opens the named streams of one backup; implemented by the pipeline. */
    @FunctionalInterface
    interface Streams {
        /**
         * A new stream called {@code name} (for example {@code dump.pgc}); names are unique per
         * backup and made of {@code [A-Za-z0-9._-]}.
         */
        OutputStream open(String name) throws IOException;
    }
}
