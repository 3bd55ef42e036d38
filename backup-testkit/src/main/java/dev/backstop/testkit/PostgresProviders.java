package dev.backstop.testkit;

import dev.backstop.core.BackupException;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.PostgresProvider;
import java.io.IOException;

/** Chooses how throwaway PostgreSQL servers are started. */
public final class PostgresProviders {
    /** System property forcing the choice: {@code local} or {@code docker}. */
    public static final String PROPERTY = "backstop.postgres.provider";

    private PostgresProviders() {
    }

    /**
     * Containers through {@link TestcontainersPostgres} when a Docker engine answers, with the image
     * {@code postgres:<major>-alpine} matching the local pg_dump's major version (15 if none);
     * otherwise the machine's own binaries through {@link EphemeralPostgres}. The system property
     * {@value #PROPERTY} ({@code local} or {@code docker}) overrides the choice.
     */
    public static PostgresProvider auto() {
        String forced = System.getProperty(PROPERTY, "");
        if (forced.equals("local")) {
            return EphemeralPostgres.provider(PgTools.locate());
        }
        if (forced.equals("docker") || TestcontainersPostgres.dockerAvailable()) {
            return TestcontainersPostgres.of("postgres:" + localMajor() + "-alpine");
        }
        return EphemeralPostgres.provider(PgTools.locate());
    }

    private static int localMajor() {
        try {
            PgTools tools = PgTools.locate();
            return tools.majorVersion(tools.tool("pg_dump"));
        } catch (IOException | BackupException e) {
            return 15;
        }
    }
}
