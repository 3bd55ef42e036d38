package dev.backstop.postgres.wal;

/**
 * Where the objects of one cluster's WAL archive live: {@code wal/<system-id>/<timeline>/<file>}
 * for a data object, the same plus {@code .meta} for its metadata, and
 * {@code <segment key>.deltas/<from>-<to>} for the delta objects of an unfinished segment. The
 * layout is the archive format: existing archives must keep reading the same.
 *
 * <p>Immutable.
 */
final class WalKeys {
    private static final String META_SUFFIX = ".meta";

    private final String stream;
    private final String prefix;

    WalKeys(long systemId) {
        this.stream = streamOf(systemId);
        this.prefix = stream + "/";
    }

    /** {@code wal/<system-id>}. */
    static String streamOf(long systemId) {
        return "wal/" + Long.toUnsignedString(systemId);
    }

    /** The log stream name, {@code wal/<system-id>}. */
    String stream() {
        return stream;
    }

    /** {@code wal/<system-id>/}: every object of the archive starts with it. */
    String prefix() {
        return prefix;
    }

    /** The key of the data object of {@code file}. */
    String keyOf(WalFile file) {
        return prefix + String.format("%08X", file.timeline()) + "/" + file.name();
    }

    /** The key prefix of the delta objects of {@code segment}. */
    String deltasOf(WalFile segment) {
        return keyOf(segment) + SegmentDeltas.DIR;
    }

    /** The key of the delta object holding bytes {@code [from, to)} of {@code segment}. */
    String deltaKey(WalFile segment, long from, long to) {
        return deltasOf(segment) + SegmentDeltas.rangeName(from, to);
    }

    /** {@code <segment>.deltas/<from>-<to>}: how errors and metadata name a delta. */
    static String deltaName(WalFile segment, long from, long to) {
        return segment.name() + SegmentDeltas.DIR + SegmentDeltas.rangeName(from, to);
    }

    /** The key of the metadata object of data object {@code key}. */
    static String metaOf(String key) {
        return key + META_SUFFIX;
    }

    static boolean isMeta(String key) {
        return key.endsWith(META_SUFFIX);
    }

    /** The data object a metadata key {@code metaKey} describes. */
    static String dataOf(String metaKey) {
        return metaKey.substring(0, metaKey.length() - META_SUFFIX.length());
    }

    static boolean isDelta(String key) {
        return key.contains(SegmentDeltas.DIR);
    }

    /** The file whose data object is {@code key} (a whole file's, not a delta's). */
    static WalFile fileOf(String key) {
        return WalFile.parse(key.substring(key.lastIndexOf('/') + 1));
    }
}
