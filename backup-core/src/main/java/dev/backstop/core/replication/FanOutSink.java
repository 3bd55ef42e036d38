package dev.backstop.core.replication;

import dev.backstop.core.IncompleteWrite;
import dev.backstop.core.IncompleteWrites;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.internal.stream.BulkOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link Sink} that writes every object to a primary sink and, while it is written, to replica
 * sinks (fan-out), so a backup reaches other buckets or regions without being read back.
 *
 * <p><b>Guarantees.</b> The primary decides: a primary failure fails the upload as usual. A
 * replica failure never fails the backup; that replica stops receiving the backup (its remaining
 * uploads are aborted and its manifest is not written), so the replica shows the backup either
 * complete or not at all, and {@link #lagging()} names it. {@link Replication#copyAll()} fills
 * such gaps later. On commit the primary commits first, so a replica never shows a backup the
 * primary lacks.
 *
 * <p><b>Restrictions.</b> Reads, lists, deletes and {@link IncompleteWrites} go to the primary only; replicas keep their
 * backups until retention runs on the replica's own repository. Replica writes happen on the
 * writer's thread, so the slowest sink sets the pace (each S3 sink still sends parts in
 * parallel). Memory is the sum of the sinks' own buffers.
 *
 * <p><b>Threading.</b> Safe for concurrent use when the sinks are.
 */
public final class FanOutSink implements Sink, IncompleteWrites {
    private final Sink primary;
    private final Map<String, Sink> replicas;
    private final Set<String> lagging = ConcurrentHashMap.newKeySet();

    private FanOutSink(Sink primary, Map<String, Sink> replicas) {
        this.primary = primary;
        this.replicas = replicas;
    }

    /** Writes to {@code primary} and to each named replica. */
    public static FanOutSink of(Sink primary, Map<String, ? extends Sink> replicas) {
        Objects.requireNonNull(primary, "primary");
        if (replicas.isEmpty()) {
            throw new IllegalArgumentException("fan-out: got no replicas, expected at least one");
        }
        return new FanOutSink(primary, new LinkedHashMap<>(replicas));
    }

    /**
     * Replicas that missed something, as {@code <replica>/<backup id or object key>}: the backup
     * (or log object) is not on that replica and needs a {@link Replication} copy.
     */
    public Set<String> lagging() {
        return Set.copyOf(lagging);
    }

    /** The backup an object belongs to, or the key itself for objects outside a backup (logs). */
    private static String unitOf(String key) {
        if (key.startsWith(RepositoryLayout.BACKUPS)) {
            String rest = key.substring(RepositoryLayout.BACKUPS.length());
            int slash = rest.indexOf('/');
            return slash < 0 ? rest : rest.substring(0, slash);
        }
        return RepositoryLayout.wrappedKeyName(key).orElse(key);
    }

    @Override
    public Upload create(String key, ObjectKind kind) throws IOException {
        Upload main = primary.create(key, kind);
        String unit = unitOf(key);
        Map<String, Upload> copies = new LinkedHashMap<>();
        for (Map.Entry<String, Sink> r : replicas.entrySet()) {
            if (lagging.contains(r.getKey() + "/" + unit)) {
                continue;
            }
            try {
                copies.put(r.getKey(), r.getValue().create(key, kind));
            } catch (IOException | RuntimeException e) {
                lagging.add(r.getKey() + "/" + unit);
            }
        }
        return new FanOutUpload(main, copies, unit);
    }

    @Override
    public InputStream open(String key) throws IOException {
        return primary.open(key);
    }

    @Override
    public List<ObjectInfo> list(String prefix) throws IOException {
        return primary.list(prefix);
    }

    @Override
    public void delete(String key) throws IOException {
        primary.delete(key);
    }

    /** The primary's incomplete writes, if it can list them; like reads, this looks at the primary only. */
    @Override
    public List<IncompleteWrite> incompleteWrites(String prefix) throws IOException {
        return primary instanceof IncompleteWrites iw ? iw.incompleteWrites(prefix) : List.of();
    }

    @Override
    public void discard(IncompleteWrite write) throws IOException {
        if (!(primary instanceof IncompleteWrites iw)) {
            throw new IllegalArgumentException("incomplete write " + write.handle() + ": primary " + primary
                    + " lists none, so this is not one of its writes");
        }
        iw.discard(write);
    }

    @Override
    public String toString() {
        return "FanOutSink[" + primary + " -> " + replicas.keySet() + "]";
    }

    private final class FanOutUpload implements Upload {
        private final Upload main;
        private final Map<String, Upload> copies;
        private final String unit;
        private final OutputStream stream;

        FanOutUpload(Upload main, Map<String, Upload> copies, String unit) {
            this.main = main;
            this.copies = copies;
            this.unit = unit;
            this.stream = new BulkOutputStream() {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    main.stream().write(b, off, len);
                    for (String name : new ArrayList<>(copies.keySet())) {
                        try {
                            copies.get(name).stream().write(b, off, len);
                        } catch (IOException | RuntimeException e) {
                            drop(name);
                        }
                    }
                }

                @Override
                public void flush() throws IOException {
                    main.stream().flush();
                }

                @Override
                public void close() throws IOException {
                    main.stream().close();
                    for (String name : new ArrayList<>(copies.keySet())) {
                        try {
                            copies.get(name).stream().close();
                        } catch (IOException | RuntimeException e) {
                            drop(name);
                        }
                    }
                }
            };
        }

        private void drop(String name) {
            lagging.add(name + "/" + unit);
            Upload u = copies.remove(name);
            if (u != null) {
                u.close();
            }
        }

        @Override
        public OutputStream stream() {
            return stream;
        }

        @Override
        public void commit() throws IOException {
            main.commit();
            for (String name : new ArrayList<>(copies.keySet())) {
                if (lagging.contains(name + "/" + unit)) {
                    // an earlier object of this backup missed the replica: never publish its manifest there
                    drop(name);
                    continue;
                }
                try {
                    copies.get(name).commit();
                } catch (IOException | RuntimeException e) {
                    drop(name);
                }
            }
        }

        @Override
        public void close() {
            try {
                main.close();
            } finally {
                for (Upload u : copies.values()) {
                    u.close();
                }
                copies.clear();
            }
        }
    }
}
