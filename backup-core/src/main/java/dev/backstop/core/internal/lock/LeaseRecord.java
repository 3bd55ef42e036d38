package dev.backstop.core.internal.lock;

import dev.backstop.core.IntegrityException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.Sink;
import dev.backstop.core.internal.layout.FormatVersion;
import dev.backstop.core.internal.layout.RepositoryLayout;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One stored lease of a repository lock: who holds it, its fencing token, when it expires and
 * whether it was released; in the text format every lease object has.
 */
public record LeaseRecord(long seq, String holder, long token, Instant expires, boolean released) {
    /** The lease format this code writes and reads; leases without a version are format 1. */
    public static final int FORMAT_VERSION = 1;

    public boolean liveAt(Instant now) {
        return !released && now.isBefore(expires);
    }

    public String format() {
        return FormatVersion.FIELD + "=" + FORMAT_VERSION + "\nholder=" + holder + "\ntoken=" + token + "\nexpires="
                + expires + "\nreleased=" + released + "\n";
    }

    /**
     * Reads a lease; one without a {@code formatVersion} line is format 1.
     *
     * @throws IntegrityException naming {@code key} and its version if a newer Backstop wrote it
     */
    public static LeaseRecord parse(long seq, String text, String key) throws IOException {
        int version = FormatVersion.UNVERSIONED;
        String holder = null;
        Long token = null;
        Instant expires = null;
        Boolean released = null;
        try {
            for (String line : text.split("\n")) {
                int eq = line.indexOf('=');
                if (eq < 0) {
                    continue;
                }
                String v = line.substring(eq + 1);
                switch (line.substring(0, eq)) {
                    case FormatVersion.FIELD -> version = Integer.parseInt(v);
                    case "holder" -> holder = v;
                    case "token" -> token = Long.parseLong(v);
                    case "expires" -> expires = Instant.parse(v);
                    case "released" -> released = Boolean.parseBoolean(v);
                    default -> { }
                }
            }
        } catch (RuntimeException e) {
            throw new IOException("lease " + key + " is malformed: " + e.getMessage(), e);
        }
        // a newer format may change what the fields mean: refuse before trusting any of them
        FormatVersion.check(version, key, "lease", FORMAT_VERSION, null);
        if (holder == null || token == null || expires == null || released == null) {
            throw new IOException("lease " + key + ": expected holder, token, expires and released; got '" + text + "'");
        }
        return new LeaseRecord(seq, holder, token, expires, released);
    }

    @Override
    public String toString() {
        return "lease " + seq + " of " + holder + ", token " + token + (released ? ", released" : ", until " + expires);
    }

    /**
     * The newest lease of every lock in {@code sink} that is live at {@code now}, described for
     * messages. A lease that cannot be read counts as live: whoever wrote it may still be working.
     */
    public static List<String> liveLeases(Sink sink, Instant now) throws IOException {
        Map<String, ObjectInfo> newest = new TreeMap<>();
        for (ObjectInfo o : sink.list(RepositoryLayout.LOCKS)) {
            if (RepositoryLayout.leaseSequence(o.key()).isPresent()) {
                // keys sort by sequence number, so the last one per lock is its newest lease
                newest.put(RepositoryLayout.leaseLock(o.key()), o);
            }
        }
        List<String> out = new ArrayList<>();
        for (ObjectInfo o : newest.values()) {
            try (InputStream in = sink.open(o.key())) {
                long seq = RepositoryLayout.leaseSequence(o.key()).orElseThrow();
                LeaseRecord r = parse(seq, new String(in.readNBytes(4096), StandardCharsets.UTF_8), o.key());
                if (r.liveAt(now)) {
                    out.add(o.key() + ": " + r);
                }
            } catch (NoSuchFileException gone) {
                // released and cleaned up since the listing
            } catch (IOException | IntegrityException e) {
                out.add(o.key() + ": unreadable (" + e.getMessage() + "), counted as live");
            }
        }
        return out;
    }

    /** Writes {@code r} as the next lease, then checks that it is the newest. */
}
