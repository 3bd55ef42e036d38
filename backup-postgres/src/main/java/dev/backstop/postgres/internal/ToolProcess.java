package dev.backstop.postgres.internal;

import dev.backstop.core.source.CommandSource.StderrTail;
import dev.backstop.postgres.PgEndpoint;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of a PostgreSQL program against an endpoint: host, port and user on the command line,
 * the password in a private pgpass file, the TLS settings in libpq's environment variables
 * (inherited ones replaced), stderr drained into a tail and logged line by line at WARN with the
 * tool's name, under the caller's MDC. Closing kills the process if it still runs and deletes the
 * pgpass file.
 */
public final class ToolProcess implements AutoCloseable {
    /** libpq's TLS variables: the endpoint's settings replace whatever the JVM's environment holds. */
    private static final List<String> TLS_VARIABLES = List.of("PGSSLMODE", "PGREQUIRESSL", "PGSSLROOTCERT", "PGSSLCERT",
            "PGSSLKEY");
    /** The tools' own logger: starts, exits, and each line they write to stderr (at WARN). */
    private static final Logger LOG = LoggerFactory.getLogger("dev.backstop.tools");
    /** {@code password=...} in a conninfo string and {@code user:password@} in a URI. */
    private static final Pattern SECRET = Pattern.compile("((?i:password)\\s*=\\s*|://[^:/@\\s]+:)[^\\s@&]+");
    private final Process process;
    private final StderrTail stderr;
    private final PgPassFile pgpass;
    private final String name;

    private ToolProcess(Process process, StderrTail stderr, PgPassFile pgpass, String name) {
        this.process = process;
        this.stderr = stderr;
        this.pgpass = pgpass;
        this.name = name;
    }

    /**
     * Starts {@code program} with {@code args} followed by the endpoint's connection options.
     *
     * @param stdin  a file to read standard input from, or null for /dev/null
     * @param stdout where standard output goes ({@link ProcessBuilder.Redirect#PIPE} to read it)
     */
    public static ToolProcess start(Path program, List<String> args, PgEndpoint endpoint, Path stdin,
                                    ProcessBuilder.Redirect stdout) throws IOException {
        return startWith(program, args, endpoint,
                ProcessBuilder.Redirect.from(stdin == null ? new File("/dev/null") : stdin.toFile()), stdout);
    }

    /**
     * Starts {@code program} like {@link #start(Path, List, PgEndpoint, Path, ProcessBuilder.Redirect)}
     * with standard input from {@code stdin} ({@link ProcessBuilder.Redirect#PIPE} to write it through
     * {@link #stdin()}).
     */
    public static ToolProcess startWith(Path program, List<String> args, PgEndpoint endpoint, ProcessBuilder.Redirect stdin,
                                    ProcessBuilder.Redirect stdout) throws IOException {
        return startWith(program, args, endpoint, stdin, stdout, Map.of());
    }

    /**
     * Starts {@code program} like {@link #startWith(Path, List, PgEndpoint, ProcessBuilder.Redirect,
     * ProcessBuilder.Redirect)} with {@code env} added to (replacing entries of) its environment.
     */
    public static ToolProcess startWith(Path program, List<String> args, PgEndpoint endpoint, ProcessBuilder.Redirect stdin,
                                    ProcessBuilder.Redirect stdout, Map<String, String> extraEnv) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(program.toString());
        cmd.addAll(args);
        PgPassFile pgpass = null;
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.remove("PGPASSWORD");
        env.remove("PGSERVICE");
        env.put("PGCONNECT_TIMEOUT", "10");
        env.put("PGAPPNAME", "backstop");
        env.putAll(extraEnv);
        if (endpoint != null) {
            TLS_VARIABLES.forEach(env::remove);
            env.putAll(endpoint.tls().libpqEnvironment());
            cmd.add("--host=" + endpoint.host());
            cmd.add("--port=" + endpoint.port());
            cmd.add("--username=" + endpoint.user());
            cmd.add("--no-password");
            if (endpoint.password() != null) {
                pgpass = PgPassFile.create(endpoint.user(), endpoint.password());
                env.put("PGPASSFILE", pgpass.path().toString());
            }
        }
        pb.command(cmd);
        pb.redirectInput(stdin);
        pb.redirectOutput(stdout);
        String name = program.getFileName().toString();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            if (pgpass != null) {
                pgpass.close();
            }
            throw new IOException("could not start " + program + ": " + e.getMessage(), e);
        }
        LOG.atInfo().addKeyValue("event", "tool.started").addKeyValue("tool", name).addKeyValue("pid", p.pid())
                .addKeyValue("args", redacted(cmd.subList(1, cmd.size()))).log("{} started", name);
        return new ToolProcess(p, StderrTail.logged(p.getErrorStream(), name), pgpass, name);
    }

    /**
     * {@code args} as the log shows them: a password in a connection string is masked (the
     * endpoint's own password travels in the pgpass file, never on the command line).
     */
    static List<String> redacted(List<String> args) {
        List<String> out = new ArrayList<>(args.size());
        for (String a : args) {
            out.add(SECRET.matcher(a).replaceAll("$1***"));
        }
        return out;
    }

    public String name() {
        return name;
    }

    public InputStream stdout() {
        return process.getInputStream();
    }

    /** The program's standard input, if it was started with a piped one; the caller closes it. */
    public OutputStream stdin() {
        return process.getOutputStream();
    }

    /** Whether the program exits within {@code timeout}. */
    public boolean exitsWithin(Duration timeout) throws IOException {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(name + " interrupted", e);
        }
    }

    /** Waits for the exit and returns its code. */
    public int waitFor() throws IOException {
        try {
            int code = process.waitFor();
            (code == 0 ? LOG.atDebug() : LOG.atWarn()).addKeyValue("event", "tool.exited").addKeyValue("tool", name)
                    .addKeyValue("pid", process.pid()).addKeyValue("exit.code", code).log("{} exited with {}", name, code);
            return code;
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(name + " interrupted", e);
        }
    }

    /** The last bytes the program wrote to stderr, once it closed stderr. */
    public String stderrTail() {
        return stderr.await();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (pgpass != null) {
            pgpass.close();
        }
    }
}
