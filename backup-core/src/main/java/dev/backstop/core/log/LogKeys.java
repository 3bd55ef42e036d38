package dev.backstop.core.log;

import dev.backstop.core.internal.layout.RepositoryLayout;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every key name of one log stream's objects, in one place:
 * <pre>
 * &lt;stream&gt;/&lt;epoch&gt;/&lt;name&gt;                          data of a whole file
 * &lt;stream&gt;/&lt;epoch&gt;/&lt;name&gt;.deltas/&lt;from&gt;-&lt;to&gt;      data of a delta (offsets in at least 8 hex digits)
 * &lt;data key&gt;.meta                                 metadata of either, written after the data
 * keys/&lt;stream&gt;/&lt;key-id&gt;.dek                      a data key (an archive key record of {@link dev.backstop.core.crypto.Encryption})
 * </pre>
 * Streams are {@code wal/<system-id>} for PostgreSQL and {@code binlog/<server-uuid>} for
 * MariaDB/MySQL. Why {@code .deltas/} and not {@code .partial/}: PostgreSQL archives real {@code
 * .partial} files, and on a filesystem an object and a directory cannot share a name.
 *
 * <p>Immutable.
 */
final class LogKeys {
    static final String META = ".meta";
    static final String DELTAS = ".deltas/";
    private static final Pattern STREAM = Pattern.compile("[a-z][a-z0-9-]{0,31}/[A-Za-z0-9._-]{1,128}");
    private static final Pattern RANGE = Pattern.compile("([0-9A-F]{8,16})-([0-9A-F]{8,16})");

    private final String stream;
    private final String prefix;

    LogKeys(String stream) {
        if (!STREAM.matcher(stream).matches()) {
            throw new IllegalArgumentException("log stream: got '" + stream + "', need <kind>/<id> such as wal/7211498312345 "
                    + "(" + STREAM.pattern() + ")");
        }
        this.stream = stream;
        this.prefix = stream + "/";
    }

    String stream() {
        return stream;
    }

    /** Every object of the stream's files starts with it. */
    String prefix() {
        return prefix;
    }

    String keyOf(LogFile file) {
        return prefix + file.epoch() + "/" + file.name();
    }

    String deltasOf(LogFile file) {
        return keyOf(file) + DELTAS;
    }

    String deltaKey(LogFile file, long from, long to) {
        return deltasOf(file) + rangeName(from, to);
    }

    /** {@code <name>.deltas/<from>-<to>}: how errors name a delta. */
    static String deltaName(LogFile file, long from, long to) {
        return file.name() + DELTAS + rangeName(from, to);
    }

    static String rangeName(long from, long to) {
        return String.format(Locale.ROOT, "%08X-%08X", from, to);
    }

    /** The name of a new data key's record: {@code <stream>/<key-id>}. */
    String keyRecord(String keyId) {
        return stream + "/" + keyId;
    }

    /** Where the records of this stream's data keys live. */
    String keyRecordPrefix() {
        return RepositoryLayout.logKeyRecordPrefix(stream);
    }

    static String metaOf(String key) {
        return key + META;
    }

    static boolean isMeta(String key) {
        return key.endsWith(META);
    }

    static String dataOf(String metaKey) {
        return metaKey.substring(0, metaKey.length() - META.length());
    }

    static boolean isDelta(String key) {
        return key.contains(DELTAS);
    }

    /** The whole file's data key of a delta's key. */
    static String fileKeyOf(String deltaKey) {
        return deltaKey.substring(0, deltaKey.lastIndexOf(DELTAS));
    }

    /** The delta a data key names, or null if it names none. */
    static LogDelta parseDelta(String key) {
        int dir = key.lastIndexOf(DELTAS);
        if (dir < 0) {
            return null;
        }
        Matcher m = RANGE.matcher(key.substring(dir + DELTAS.length()));
        if (!m.matches()) {
            return null;
        }
        long from = Long.parseLong(m.group(1), 16);
        long to = Long.parseLong(m.group(2), 16);
        return from < to ? new LogDelta(key, from, to) : null;
    }

    /** The file whose whole data key is {@code key}, or null if the key is none of this stream's files. */
    LogFile fileOf(String key, LogNaming naming) {
        if (!key.startsWith(prefix)) {
            return null;
        }
        String rest = key.substring(prefix.length());
        int slash = rest.indexOf('/');
        if (slash <= 0 || rest.indexOf('/', slash + 1) >= 0) {
            return null;
        }
        try {
            LogFile f = naming.parse(rest.substring(slash + 1));
            return f.epoch().equals(rest.substring(0, slash)) ? f : null;
        } catch (IllegalArgumentException e) {
            return null; // not a file of this engine: left alone
        }
    }

    /** Whether {@code key} is one of this stream's key records. */
    boolean isKeyMaterial(String key) {
        return key.startsWith(keyRecordPrefix()) && key.endsWith(".dek");
    }
}
