package dev.backstop.core.internal.layout;

import com.fasterxml.jackson.databind.JsonNode;
import dev.backstop.core.BackupId;
import dev.backstop.core.IntegrityException;

/**
 * The format version every stored object carries, and the one rule for reading it: an object
 * without a version was written before versions were recorded and reads as version 1; an object
 * of a version this code does not know (a newer Backstop wrote it) is refused, naming the object
 * and its version, rather than half understood.
 */
public final class FormatVersion {
    /** The version of objects that carry none. */
    public static final int UNVERSIONED = 1;
    /** The field that carries it in JSON records; {@code formatVersion=} in key=value records. */
    public static final String FIELD = "formatVersion";

    private FormatVersion() {
    }

    /**
     * The version of a JSON record.
     *
     * @param key the object, for the message
     * @param what names the kind of object in the message, e.g. "expiry journal"
     * @param newest the newest version this code reads
     * @throws IntegrityException naming {@code key} and the version if it is not 1..{@code newest}
     */
    public static int of(JsonNode record, String key, String what, int newest, BackupId owner) {
        JsonNode v = record.get(FIELD);
        if (v == null || v.isNull()) {
            return UNVERSIONED;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw refused(key, what, v.toString(), newest, owner);
        }
        return check(v.intValue(), key, what, newest, owner);
    }

    /**
     * Checks a version read from a non-JSON record.
     *
     * @throws IntegrityException naming {@code key} and {@code version} if it is not 1..{@code newest}
     */
    public static int check(int version, String key, String what, int newest, BackupId owner) {
        if (version < 1 || version > newest) {
            throw refused(key, what, Integer.toString(version), newest, owner);
        }
        return version;
    }

    private static IntegrityException refused(String key, String what, String version, int newest, BackupId owner) {
        return new IntegrityException(key, what + " format", FIELD + " 1.." + newest + " (what this Backstop reads)",
                FIELD + " " + version + (version.matches("\\d+") && Integer.parseInt(version) > newest
                        ? " (written by a newer Backstop; upgrade to read it)" : ""), null, owner);
    }
}
