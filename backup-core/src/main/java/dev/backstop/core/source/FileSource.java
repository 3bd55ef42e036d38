package dev.backstop.core.source;

import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.SourceInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Backs up one file as one stream. The file should not change while it is read; if its size
 * changes during the read, the capture fails rather than store a torn copy.
 */
public final class FileSource implements CaptureSource {
    private final Path file;
    private final String streamName;

    private FileSource(Path file, String streamName) {
        this.file = Objects.requireNonNull(file, "file");
        this.streamName = Objects.requireNonNull(streamName, "streamName");
    }

    /** The file, stored under its own file name. */
    public static FileSource of(Path file) {
        return new FileSource(file, file.getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "_"));
    }

    public static FileSource of(Path file, String streamName) {
        return new FileSource(file, streamName);
    }

    @Override
    public BackupType type() {
        return BackupType.RAW;
    }

    @Override
    public CaptureResult capture(Streams streams) throws IOException {
        long before = Files.size(file);
        long copied;
        try (InputStream in = Files.newInputStream(file); OutputStream out = streams.open(streamName)) {
            copied = in.transferTo(out);
        }
        long after = Files.size(file);
        if (copied != before || after != before) {
            throw new IOException("file " + file + " changed while it was read: size " + before + " before, " + copied
                    + " read, " + after + " after");
        }
        return CaptureResult.builder(new SourceInfo("file", "n/a", Map.of("path", file.toAbsolutePath().toString())))
                .attribute("bytes", Long.toString(copied))
                .build();
    }

    @Override
    public String toString() {
        return "FileSource[" + file + "]";
    }
}
