package dev.backstop.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.backstop.cli.config.ConfigException;
import dev.backstop.core.BackupException;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.Stage;
import dev.backstop.mysql.recovery.TargetNotReachedException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code backstop} command: backups, restores, checks, drills, expiry and keys, driven by a
 * configuration file ({@link dev.backstop.cli.config.BackstopConfig}). Every command is a call into
 * the library that a service can make itself.
 *
 * <p>Exit codes: {@value #OK} success, {@value #FAILURE} other failure, {@value #USAGE} usage or
 * configuration error, {@value #INTEGRITY} integrity failure (damaged, tampered or not restoring
 * exactly), {@value #RETRYABLE} retryable failure (try again later), {@value #LOCKED} the
 * repository lock is held by someone else, {@value #STOPPED} the daemon was stopped by SIGTERM.
 */
@Command(name = "backstop", mixinStandardHelpOptions = true, versionProvider = Backstop.Version.class,
        description = "Verified database backups: back up, list, verify, drill, restore and expire.",
        footerHeading = "%nExit codes:%n",
        footer = {"  0  success", "  1  other failure", "  2  usage or configuration error",
                "  3  integrity failure: damaged, tampered with, or the restore differs",
                "  4  retryable failure (storage or database unreachable): try again later",
                "  5  the repository lock is held by another process",
                "  6  the log archive does not reach the recovery target (nothing was restored)",
                "  143  backstop run stopped by SIGTERM (a running backup was aborted: nothing published)",
                "", "Configuration: --config FILE, or $BACKSTOP_CONFIG. See docs/cli.md."})
public final class Backstop implements Runnable {
    /**
     * The commands, in the order {@code --help} lists them. Not in the {@code @Command} annotation:
     * picocli builds the model of every command it is given by reflection, which is most of a fresh
     * JVM's start, so {@link #execute} gives it only the one the command line names.
     */
    static final List<Class<?>> COMMANDS = List.of(Commands.BackupCommand.class, Commands.ListCommand.class,
            Commands.InfoCommand.class, Commands.VerifyCommand.class, Commands.RestoreCommand.class,
            Commands.DrillCommand.class, Maintenance.ExpireCommand.class, Maintenance.OrphansCommand.class,
            Maintenance.CopyCommand.class, Maintenance.KeysCommand.class, Maintenance.ConfigCommand.class,
            RestorePointCommand.class, Run.class, WalCommands.class, BinlogCommands.class, Demo.class,
            Evidence.AuditCommand.class, Evidence.ReportCommand.class, Docs.CompletionCommand.class,
            CommandLine.HelpCommand.class);
    /** Commands that read the whole tree (usage of other commands, the completion script). */
    private static final Set<Class<?>> NEED_ALL = Set.of(Docs.CompletionCommand.class, CommandLine.HelpCommand.class);

    /** Success. */
    public static final int OK = 0;
    /** Any failure without a more specific code. */
    public static final int FAILURE = 1;
    /** Bad command line or configuration. */
    public static final int USAGE = 2;
    /** A check found damage, tampering or a restore that differs. */
    public static final int INTEGRITY = 3;
    /** A failure that may pass when tried again. */
    public static final int RETRYABLE = 4;
    /** The repository lock is held. */
    public static final int LOCKED = 5;
    /**
     * A point-in-time restore was refused because the archived log does not reach its target (it
     * ends before it, or a file on the way is missing); the target was not touched.
     */
    public static final int NOT_REACHED = 6;
    /**
     * {@code backstop run} stopped by SIGTERM (128 + 15, as the JVM exits on it): a running backup
     * was aborted and nothing of it published.
     */
    public static final int STOPPED = 143;

    final Map<String, String> env;
    final PrintWriter out;
    final PrintWriter err;
    private ObjectMapper json;

    private Backstop(Map<String, String> env, PrintWriter out, PrintWriter err) {
        this.env = env;
        this.out = out;
        this.err = err;
    }

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        System.exit(execute(args, System.getenv(), out, err));
    }

    /**
     * Runs {@code args} as the command line would, with {@code env} as the environment for
     * configuration interpolation; returns the exit code.
     */
    public static int execute(String[] args, Map<String, String> env, PrintWriter out, PrintWriter err) {
        int code = commandLine(env, out, err, commandsFor(args)).execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** The command line with every command, its output going to {@code out} and {@code err}. */
    static CommandLine commandLine(Map<String, String> env, PrintWriter out, PrintWriter err) {
        return commandLine(env, out, err, COMMANDS);
    }

    private static CommandLine commandLine(Map<String, String> env, PrintWriter out, PrintWriter err,
            List<Class<?>> commands) {
        Backstop root = new Backstop(env, out, err);
        CommandLine cmd = new CommandLine(root);
        for (Class<?> c : commands) {
            cmd.addSubcommand(c);
        }
        cmd.setOut(out).setErr(err).setCaseInsensitiveEnumValuesAllowed(true);
        cmd.setExecutionExceptionHandler((e, line, parsed) -> {
            err.println(line.getCommandSpec().qualifiedName() + ": " + message(e));
            return exitCode(e);
        });
        return cmd;
    }

    /**
     * The commands {@code args} can reach: the one it names first, none for a lone
     * {@code --version}, and all of them otherwise (help, usage errors, unknown commands), so what
     * picocli parses and prints is what it would with the whole tree.
     */
    static List<Class<?>> commandsFor(String[] args) {
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            return List.of();
        }
        if (args.length > 0) {
            for (Class<?> c : COMMANDS) {
                Command named = c.getAnnotation(Command.class);
                if (named.name().equals(args[0]) || List.of(named.aliases()).contains(args[0])) {
                    return NEED_ALL.contains(c) ? COMMANDS : List.of(c);
                }
            }
        }
        return COMMANDS;
    }

    /** The JSON writer of {@code --json} output; made on first use, as most commands print none. */
    synchronized ObjectMapper json() {
        if (json == null) {
            json = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT)
                    .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).build();
        }
        return json;
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required; see backstop --help");
    }

    static int exitCode(Throwable e) {
        if (e instanceof ConfigException || e instanceof CommandLine.ParameterException) {
            return USAGE;
        }
        if (e instanceof IntegrityException || e instanceof Commands.CheckFailed) {
            return INTEGRITY;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof TargetNotReachedException) {
                return NOT_REACHED;
            }
            if (t instanceof BackupException b) {
                if (b.stage() == Stage.LOCK) {
                    return LOCKED;
                }
                return b instanceof IntegrityException ? INTEGRITY : b.retryable() ? RETRYABLE : FAILURE;
            }
        }
        return FAILURE;
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        if (e instanceof UncheckedIOException && e.getCause() != null) {
            m = m + ": " + e.getCause().getMessage();
        }
        m = m == null ? e.getClass().getName() : m;
        // the failure's message is plain; the operator also needs to see where it failed and in which backup
        if (e instanceof BackupException b) {
            return "[" + b.stage() + b.backupId().map(id -> " " + id).orElse("") + "] " + m;
        }
        return m;
    }

    /** The version from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Backstop.class.getPackage().getImplementationVersion();
            return new String[] {"backstop " + (v == null ? "(development build)" : v)};
        }
    }
}
