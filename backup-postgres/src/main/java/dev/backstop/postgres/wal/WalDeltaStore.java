package dev.backstop.postgres.wal;

import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.StorageException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The delta objects of one archive's unfinished segments as stored objects: archiving one range,
 * listing a segment's archived deltas, assembling a segment from them, and removing them once the
 * whole segment is archived. {@link SegmentDeltas} decides which deltas form a run; this class
 * does the I/O. See {@link WalArchive} for the guarantees.
 *
 * <p>Thread-safe.
 */
final class WalDeltaStore {
    private final WalKeys keys;
    private final WalObjects objects;
    private final long systemId;

    WalDeltaStore(WalKeys keys, WalObjects objects, long systemId) {
        this.keys = keys;
        this.objects = objects;
        this.systemId = systemId;
    }

    /** See {@link WalArchive#putDelta}. */
    long put(WalFile segment, long from, long to, FileChannel source, Instant lastCommit) {
        if (segment.kind() != WalFile.Kind.SEGMENT || from < 0 || to <= from || to > WalFile.SEGMENT_BYTES) {
            throw new IllegalArgumentException("delta: got " + segment + " [" + from + ", " + to + "), need a segment and 0 <= from < to <= "
                    + WalFile.SEGMENT_BYTES);
        }
        String rangeName = WalKeys.deltaName(segment, from, to);
        String key = keys.deltaKey(segment, from, to);
        try {
            if (from == 0 && to >= SegmentHeader.BYTES) {
                byte[] head = new RangeInputStream(source, 0, SegmentHeader.BYTES).readAllBytes();
                SegmentHeader.check(head, segment, systemId);
            }
            MessageDigest md = Digest.newSha256();
            long read;
            try (InputStream in = new DigestInputStream(new RangeInputStream(source, from, to), md)) {
                read = in.transferTo(OutputStream.nullOutputStream());
            }
            if (read != to - from) {
                throw new IntegrityException(key, "bytes of " + rangeName, (to - from) + " bytes in the local segment", read + " bytes",
                        null, null);
            }
            Digest plain = Digest.of(md.digest());
            Optional<WalMeta> existing = objects.readMeta(key);
            if (existing.isPresent()) {
                if (existing.get().plaintextSha256().equals(plain)) {
                    return 0;
                }
                throw new IntegrityException(key, "archived content of " + rangeName, existing.get().plaintextSha256() + " (already archived)",
                        plain + " (offered now): refusing to replace an archived delta", null, null);
            }
            return objects.upload(() -> new RangeInputStream(source, from, to), rangeName, rangeName, key, to - from, plain, lastCommit);
        } catch (IOException e) {
            throw StorageException.of(key, "could not archive " + rangeName + ": " + e, e, null);
        }
    }

    /** See {@link WalArchive#deltaEnd}. */
    long end(WalFile segment) {
        return SegmentDeltas.run(list(segment)).end();
    }

    /** See {@link WalArchive#deltas}. */
    List<SegmentDeltas.Delta> list(WalFile segment) {
        try {
            return listed(objects.list(keys.deltasOf(segment)));
        } catch (IOException e) {
            throw StorageException.of(keys.keyOf(segment), "could not list deltas: " + e, e, null);
        }
    }

    /** The deltas among {@code listing} whose metadata is stored, by offset. */
    static List<SegmentDeltas.Delta> listed(List<ObjectInfo> listing) {
        List<SegmentDeltas.Delta> out = new ArrayList<>();
        for (ObjectInfo o : listing) {
            if (WalKeys.isMeta(o.key())) {
                SegmentDeltas.Delta d = SegmentDeltas.parse(WalKeys.dataOf(o.key()));
                if (d != null) {
                    out.add(d);
                }
            }
        }
        out.sort(Comparator.comparingLong(SegmentDeltas.Delta::from).thenComparingLong(SegmentDeltas.Delta::to));
        return out;
    }

    /**
     * Writes {@code segment} assembled from its deltas into {@code tmp}: each verified, gap-free
     * from offset 0, then zeros up to 16 MiB. False if it has no deltas.
     *
     * @throws NoSuchFileException if a delta vanished while being read (the whole segment replaced it)
     */
    boolean assemble(WalFile segment, Path tmp) throws IOException {
        List<SegmentDeltas.Delta> listed = list(segment);
        if (listed.isEmpty()) {
            return false;
        }
        SegmentDeltas.Run run = SegmentDeltas.run(listed);
        if (run.chain().isEmpty() || run.hasGap()) {
            throw new IntegrityException(keys.deltasOf(segment), "deltas of " + segment.name(), "a gap-free run from offset 0",
                    "a run to offset " + run.end() + " and then " + (run.chain().isEmpty() ? listed : run.stranded()).stream()
                            .map(d -> SegmentDeltas.rangeName(d.from(), d.to())).toList()
                            + ": a delta is missing; refusing to serve the segment", null, null);
        }
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 64 * 1024)) {
            for (SegmentDeltas.Delta d : run.chain()) {
                String rangeName = WalKeys.deltaName(segment, d.from(), d.to());
                WalMeta m = objects.readMeta(d.key()).orElseThrow(() -> new NoSuchFileException(WalKeys.metaOf(d.key())));
                if (!rangeName.equals(m.name()) || m.plaintextSize() != d.bytes()) {
                    throw new IntegrityException(WalKeys.metaOf(d.key()), "metadata of " + rangeName, rangeName + ", " + d.bytes() + " bytes",
                            m.name() + ", " + m.plaintextSize() + " bytes: metadata of another delta", null, null);
                }
                objects.decodeVerified(d.key(), m, rangeName, out);
            }
            byte[] zeros = new byte[64 * 1024];
            for (long left = WalFile.SEGMENT_BYTES - run.end(); left > 0; left -= zeros.length) {
                out.write(zeros, 0, (int) Math.min(left, zeros.length));
            }
        }
        return true;
    }

    /** See {@link WalArchive#deleteDeltas}. */
    int delete(WalFile segment) {
        try {
            return objects.deleteAll(objects.list(keys.deltasOf(segment)));
        } catch (IOException e) {
            throw StorageException.of(keys.keyOf(segment), "could not delete deltas: " + e, e, null);
        }
    }

    /** See {@link WalArchive#deleteSupersededDeltas}. */
    int deleteSuperseded() {
        try {
            List<ObjectInfo> all = objects.list(keys.prefix());
            Set<String> whole = new HashSet<>();
            for (ObjectInfo o : all) {
                if (WalKeys.isMeta(o.key()) && !WalKeys.isDelta(o.key())) {
                    whole.add(WalKeys.dataOf(o.key()));
                }
            }
            List<ObjectInfo> superseded = new ArrayList<>();
            for (ObjectInfo o : all) {
                if (WalKeys.isDelta(o.key()) && whole.contains(SegmentDeltas.segmentKeyOf(o.key()))) {
                    superseded.add(o);
                }
            }
            return objects.deleteAll(superseded);
        } catch (IOException e) {
            throw StorageException.of(keys.prefix(), "could not delete superseded deltas: " + e, e, null);
        }
    }

    /** Bytes {@code [from, to)} of a channel by positional reads, leaving its position and the channel alone. */
    private static final class RangeInputStream extends InputStream {
        private final FileChannel ch;
        private long pos;
        private final long end;

        RangeInputStream(FileChannel ch, long from, long to) {
            this.ch = ch;
            this.pos = from;
            this.end = to;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (pos >= end) {
                return -1;
            }
            int n = ch.read(ByteBuffer.wrap(b, off, (int) Math.min(len, end - pos)), pos);
            if (n < 0) {
                return -1; // the file is shorter than the range: the caller's count says so
            }
            pos += n;
            return n;
        }
    }
}
