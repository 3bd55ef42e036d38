package dev.backstop.testkit;

import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.MariaDbInstance;
import dev.backstop.mysql.MariaDbProvider;
import java.io.IOException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.Objects;
import org.testcontainers.containers.MySQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * Throwaway MySQL 8.0 servers in Docker containers through Testcontainers, behind the same
 * {@link MariaDbProvider} interface as {@link dev.backstop.mysql.EphemeralMariaDb}: the way to run
 * Backstop's MySQL paths in tests, since MySQL servers are not packaged beside MariaDB on Debian.
 *
 * <pre>{@code
 * assumeTrue(TestcontainersMySql.dockerAvailable());
 * try (MariaDbInstance mysql = TestcontainersMySql.of("mysql:8.0").start()) {
 *     mysql.createDatabase("shop");
 *     ...
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> {@link MariaDbInstance#endpoint()} connects as {@code root} with a random
 * password (every privilege); the binary log is on (MySQL 8's default) and server id 1. {@link
 * MariaDbInstance#close()} stops and removes the container.
 *
 * <p><b>Restrictions.</b> Needs a reachable Docker engine and Testcontainers' {@code mysql} module
 * on the class path (an optional dependency of the testkit); {@link #dockerAvailable()} tells,
 * without throwing. The server runs with {@code --default-authentication-plugin=mysql_native_password},
 * because Backstop connects with the MariaDB driver without TLS, which cannot complete MySQL 8's
 * {@code caching_sha2_password} exchange; MySQL 8.4 and later no longer accept that option, so use
 * an 8.0 image. The client programs (mysqldump, mysql) run on the host: a logical backup of MySQL
 * needs Oracle's {@code mysqldump} there (MariaDB's has no {@code --source-data}), configured with
 * {@code MariaDbTools.with("mysqldump", path)}.
 *
 * <p><b>Threading.</b> Thread-safe; each {@link #start()} starts a new container.
 */
public final class TestcontainersMySql extends ContainerProvider implements MariaDbProvider {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int PORT = 3306;

    private TestcontainersMySql(String image) {
        super(image);
    }

    /** Containers of {@code image}, e.g. {@code mysql:8.0}. */
    public static TestcontainersMySql of(String image) {
        return new TestcontainersMySql(Objects.requireNonNull(image, "image"));
    }

    /**
     * Whether Testcontainers is on the class path and a Docker engine answers. Without a
     * {@code DOCKER_HOST} and without {@code /var/run/docker.sock} the answer is no at once.
     */
    public static boolean dockerAvailable() {
        return DockerEngine.answers();
    }

    @Override
    public MariaDbInstance start() throws IOException {
        byte[] secret = new byte[12];
        RANDOM.nextBytes(secret);
        Container c = new Container(DockerImageName.parse(image()).asCompatibleSubstituteFor("mysql"))
                .withUsername("root").withPassword(HexFormat.of().formatHex(secret))
                .withCommand("--default-authentication-plugin=mysql_native_password", "--server-id=1");
        startContainer(c::start);
        MariaDbEndpoint ep = MariaDbEndpoint.of(c.getHost(), c.getMappedPort(PORT), c.getUsername(), c.getPassword());
        String version = askVersion(c::stop, () -> {
            try (Connection conn = ep.connect(null); Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT VERSION()")) {
                rs.next();
                return rs.getString(1);
            }
        });
        return new MariaDbInstance() {
            @Override
            public MariaDbEndpoint endpoint() {
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

    /**
     * Testcontainers' MySQL container, made to wait for readiness through the MariaDB driver (the
     * one Backstop ships) instead of Oracle's, which is not on the class path.
     */
    private static final class Container extends MySQLContainer<Container> {
        Container(DockerImageName image) {
            super(image);
        }

        @Override
        public String getDriverClassName() {
            return "org.mariadb.jdbc.Driver";
        }

        @Override
        public String getJdbcUrl() {
            return "jdbc:mariadb://" + getHost() + ":" + getMappedPort(PORT) + "/" + getDatabaseName() + "?sslMode=disable";
        }
    }
}
