package dev.backstop.benchmarks;

import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.util.List;

/** A sink that counts and drops bytes, so benchmarks measure the pipeline and nothing else. */
final class DiscardingSink implements Sink {
    @Override
    public Upload create(String key, ObjectKind kind) {
        return new Upload() {
            @Override
            public OutputStream stream() {
                return OutputStream.nullOutputStream();
            }

            @Override
            public void commit() {
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public InputStream open(String key) throws IOException {
        throw new NoSuchFileException(key);
    }

    @Override
    public List<ObjectInfo> list(String prefix) {
        return List.of();
    }

    @Override
    public void delete(String key) {
    }
}
