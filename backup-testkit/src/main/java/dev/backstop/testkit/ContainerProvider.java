package dev.backstop.testkit;

import java.io.IOException;
import java.sql.SQLException;
import java.util.Objects;

/**
 * The base of the testkit's Docker providers: one image, the container's start and the first
 * question to the server in it (its version), each failure named the same way for every engine.
 *
 * <p>No Testcontainers type appears here: the providers' {@code dockerAvailable()} must load, and
 * answer no, where Testcontainers is not on the class path, so the container is handed over as
 * its start and stop actions only.
 */
abstract class ContainerProvider {
    /** The first question to a started server: its version. */
    @FunctionalInterface
    interface Ask {
        String version() throws SQLException;
    }

    private final String image;

    ContainerProvider(String image) {
        this.image = Objects.requireNonNull(image, "image");
    }

    /** Starts a container through {@code start}; a failure is an {@link IOException} naming the image. */
    final void startContainer(Runnable start) throws IOException {
        try {
            start.run();
        } catch (RuntimeException e) {
            throw new IOException("could not start container " + image + ": " + e.getMessage(), e);
        }
    }

    /**
     * The started server's version; when the server does not answer, stops its container through
     * {@code stop} and throws an {@link IOException} naming the image.
     */
    final String askVersion(Runnable stop, Ask ask) throws IOException {
        try {
            return ask.version();
        } catch (SQLException e) {
            stop.run();
            throw new IOException("container " + image + " started but does not answer: " + e.getMessage(), e);
        }
    }

    /** The image the containers are of. */
    final String image() {
        return image;
    }

    /** What one started server is, for its {@code toString()}. */
    final String describe(String version, String host, int port) {
        return getClass().getSimpleName() + "[" + image + " " + version + " at " + host + ":" + port + "]";
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + image + "]";
    }
}
