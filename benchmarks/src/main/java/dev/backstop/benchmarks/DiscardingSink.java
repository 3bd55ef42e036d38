package dev.backstop.benchmarks;

import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A sink that drops the bytes of backup data, so benchmarks measure the pipeline and nothing
 * else. Every other object (key records, manifests) is small and is kept in memory: the pipeline
 * reads the repository's metadata key back before it writes a manifest.
 */
final class DiscardingSink implements Sink {
    private final Map<String, byte[]> kept = new ConcurrentHashMap<>();

    @Override
    public Upload create(String key, ObjectKind kind) {
        ByteArrayOutputStream buffer = kind == ObjectKind.DATA ? null : new ByteArrayOutputStream();
        return new Upload() {
            @Override
            public OutputStream stream() {
                return buffer == null ? OutputStream.nullOutputStream() : buffer;
            }

            @Override
            public void commit() {
                if (buffer != null) {
                    kept.put(key, buffer.toByteArray());
                }
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public InputStream open(String key) throws IOException {
        byte[] b = kept.get(key);
        if (b == null) {
            throw new NoSuchFileException(key);
        }
        return new ByteArrayInputStream(b);
    }

    @Override
    public List<ObjectInfo> list(String prefix) {
        return kept.entrySet().stream().filter(e -> e.getKey().startsWith(prefix)).sorted(Map.Entry.comparingByKey())
                .map(e -> new ObjectInfo(e.getKey(), e.getValue().length, Instant.EPOCH)).toList();
    }

    @Override
    public void delete(String key) {
        kept.remove(key);
    }
}
