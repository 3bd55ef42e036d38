package dev.backstop.postgres.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Temporary directories this module creates under a work directory: spools, heads, throwaway clusters. */
public final class WorkDirs {
    private WorkDirs() {
    }

    /** Deletes {@code root} and everything under it, best effort: a leftover is temporary data, never a failure. */
    public static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: temporary data under the work directory
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
