package dev.backstop.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/** Whether the container providers can run here: Testcontainers on the class path and a Docker engine that answers. */
final class DockerEngine {
    private DockerEngine() {
    }

    /**
     * Without a {@code DOCKER_HOST} and without {@code /var/run/docker.sock} the answer is no at
     * once, so machines without Docker pay nothing and log nothing.
     */
    static boolean answers() {
        if (System.getenv("DOCKER_HOST") == null && !Files.exists(Path.of("/var/run/docker.sock"))) {
            return false;
        }
        try {
            Class.forName("org.testcontainers.DockerClientFactory");
            return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
        } catch (ClassNotFoundException | LinkageError | RuntimeException e) {
            return false;
        }
    }
}
