package dev.backstop.testkit;

import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PostgresInstance;
import dev.backstop.postgres.PostgresProvider;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Objects;

/**
 * Throwaway PostgreSQL servers in Docker containers through Testcontainers, behind the same
 * {@link PostgresProvider} interface as {@link dev.backstop.postgres.EphemeralPostgres}.
 *
 * <p><b>Restrictions.</b> Needs a reachable Docker engine and Testcontainers on the class path
 * (an optional dependency of the testkit); {@link #dockerAvailable()} tells, without throwing.
 * The client tools (pg_dump, pg_restore) still run on the host: use an image whose major version
 * is not newer than theirs.
 *
 * <p><b>Threading.</b> Thread-safe; each {@link #start()} starts a new container.
 */
public final class TestcontainersPostgres extends ContainerProvider implements PostgresProvider {
    private TestcontainersPostgres(String image) {
        super(image);
    }

    /** Containers of {@code image}, e.g. {@code postgres:15-alpine}. */
    public static TestcontainersPostgres of(String image) {
        return new TestcontainersPostgres(Objects.requireNonNull(image, "image"));
    }

    /**
     * Whether Testcontainers is on the class path and a Docker engine answers. Without a
     * {@code DOCKER_HOST} and without {@code /var/run/docker.sock} the answer is no at once, so
     * machines without Docker pay nothing and log nothing.
     */
    public static boolean dockerAvailable() {
        return DockerEngine.answers();
    }

    @Override
    public PostgresInstance start() throws IOException {
        org.testcontainers.containers.PostgreSQLContainer<?> c =
                new org.testcontainers.containers.PostgreSQLContainer<>(
                        org.testcontainers.utility.DockerImageName.parse(image()).asCompatibleSubstituteFor("postgres"));
        startContainer(c::start);
        PgEndpoint ep = PgEndpoint.of(c.getHost(), c.getMappedPort(5432), c.getUsername(), c.getPassword());
        String version = askVersion(c::stop, () -> {
            try (Connection conn = ep.connect(c.getDatabaseName()); Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SHOW server_version")) {
                rs.next();
                return rs.getString(1).split(" ")[0];
            }
        });
        return new PostgresInstance() {
            @Override
            public PgEndpoint endpoint() {
                return ep;
            }

            @Override
            public String version() {
                return version;
            }

            @Override
            public void close() {
                c.stop();
            }

            @Override
            public String toString() {
                return describe(version, ep.host(), ep.port());
            }
        };
    }
}
