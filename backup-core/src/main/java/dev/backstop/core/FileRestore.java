package dev.backstop.core;

import dev.backstop.core.event.BackupListener;
import dev.backstop.core.manifest.Manifest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/** {@link Restore#toFile}'s writing: a temporary file beside the target, moved into place once every check passed. */
final class FileRestore {
    private FileRestore() {
    }

    static long write(Restore restore, BackupListener listener, Clock clock, Manifest m, String name, Path target) {
        Instant start = clock.instant();
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + target.getFileName(), ".restoring");
            long n;
            try (InputStream in = restore.open(m, name); OutputStream out = Files.newOutputStream(tmp)) {
                n = in.transferTo(out);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            listener.restoreFinished(m.id(), n, Duration.between(start, clock.instant()));
            return n;
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "could not write " + target + ": " + e, e, false, m.id());
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a leftover temporary file never looks like the target
                }
            }
        }
    }
}
