package dev.backstop.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.Spec;

/**
 * The shell completion script and the man pages, both generated from the commands' own picocli
 * model, so they name exactly the commands and options the program accepts. {@link #main} writes
 * them into the distribution at package time ({@code share/bash-completion/completions/backstop},
 * {@code share/man/man1/backstop*.1}); {@code backstop completion} prints the script.
 */
public final class Docs {
    private Docs() {
    }

    /**
     * Writes the completion script and one man page per command under {@code args[0]} (the
     * distribution's {@code share} directory).
     *
     * @throws IOException if a file cannot be written
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: Docs SHARE_DIR (got " + args.length + " arguments)");
        }
        Path share = Path.of(args[0]);
        CommandLine cmd = Backstop.commandLine(Map.of(), new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
        cmd.setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF));
        Path completion = Files.createDirectories(share.resolve("bash-completion/completions")).resolve("backstop");
        Files.writeString(completion, bash(cmd), StandardCharsets.UTF_8);
        Path man = Files.createDirectories(share.resolve("man/man1"));
        for (Map.Entry<String, String> page : manPages(cmd).entrySet()) {
            Files.writeString(man.resolve(page.getKey()), page.getValue(), StandardCharsets.UTF_8);
        }
    }

    /** picocli's bash completion script for every command (bash, and zsh with bashcompinit). */
    static String bash(CommandLine cmd) {
        return AutoComplete.bash("backstop", cmd);
    }

    /** One troff page per command, by file name: {@code backstop.1}, {@code backstop-backup.1}, {@code backstop-wal-archive-push.1}, .... */
    static Map<String, String> manPages(CommandLine root) {
        Map<String, String> pages = new LinkedHashMap<>();
        add(root, pages);
        return pages;
    }

    private static void add(CommandLine cmd, Map<String, String> pages) {
        CommandSpec spec = cmd.getCommandSpec();
        if (spec.usageMessage().hidden()) {
            return;
        }
        String name = spec.qualifiedName("-");
        pages.put(name + ".1", page(cmd, name));
        for (CommandLine sub : cmd.getSubcommands().values()) {
            // aliases map to the same command: one page each
            if (sub.getCommandName().equals(sub.getCommandSpec().name()) && !pages.containsKey(sub.getCommandSpec().qualifiedName("-") + ".1")) {
                add(sub, pages);
            }
        }
    }

    private static String page(CommandLine cmd, String name) {
        CommandSpec spec = cmd.getCommandSpec();
        String version = new Backstop.Version().getVersion()[0];
        StringBuilder b = new StringBuilder();
        b.append(".TH \"").append(name.toUpperCase(Locale.ROOT)).append("\" 1 \"\" \"").append(escape(version))
                .append("\" \"Backstop Manual\"\n");
        String[] description = spec.usageMessage().description();
        String summary = description.length == 0 ? "" : description[0].split("(?<=\\.)\\s", 2)[0];
        b.append(".SH NAME\n").append(name.replace("-", "\\-")).append(" \\- ").append(escape(summary)).append('\n');
        b.append(".SH SYNOPSIS\n").append(".nf\n").append(escape(cmd.getHelp().synopsis(0).strip())).append("\n.fi\n");
        if (description.length > 0) {
            b.append(".SH DESCRIPTION\n");
            for (String d : description) {
                b.append(escape(d)).append("\n.PP\n");
            }
        }
        List<PositionalParamSpec> params = spec.positionalParameters();
        List<OptionSpec> options = spec.options();
        if (!params.isEmpty() || !options.isEmpty()) {
            b.append(".SH OPTIONS\n");
            for (PositionalParamSpec p : params) {
                if (!p.hidden()) {
                    b.append(".TP\n\\fI").append(escape(p.paramLabel())).append("\\fR\n").append(escape(String.join(" ", p.description())))
                            .append('\n');
                }
            }
            for (OptionSpec o : options) {
                if (o.hidden()) {
                    continue;
                }
                b.append(".TP\n");
                String[] names = o.names();
                for (int i = 0; i < names.length; i++) {
                    b.append(i == 0 ? "" : ", ").append("\\fB").append(escape(names[i]).replace("-", "\\-")).append("\\fR");
                }
                if (!o.typeInfo().isBoolean() && o.arity().max() > 0) {
                    b.append(" \\fI").append(escape(o.paramLabel())).append("\\fR");
                }
                b.append('\n').append(escape(String.join(" ", o.description()))).append('\n');
            }
        }
        if (!cmd.getSubcommands().isEmpty()) {
            b.append(".SH COMMANDS\n");
            for (Map.Entry<String, CommandLine> e : cmd.getSubcommands().entrySet()) {
                CommandSpec s = e.getValue().getCommandSpec();
                if (!s.usageMessage().hidden() && e.getKey().equals(s.name())) {
                    String[] d = s.usageMessage().description();
                    b.append(".TP\n\\fB").append(escape(e.getKey())).append("\\fR\n").append(escape(d.length == 0 ? "" : d[0]))
                            .append(s.subcommands().isEmpty() && !"help".equals(s.name()) ? "\nSee \\fB" + s.qualifiedName("-")
                                    .replace("-", "\\-") + "\\fR(1)." : "").append('\n');
                }
            }
        }
        String[] footer = spec.usageMessage().footer();
        if (footer.length > 0) {
            b.append(".SH ").append(escape(spec.usageMessage().footerHeading().replace("%n", "").replace(":", "")
                    .toUpperCase(Locale.ROOT).strip())).append("\n.nf\n");
            for (String f : footer) {
                b.append(escape(f.replace("%n", ""))).append('\n');
            }
            b.append(".fi\n");
        }
        b.append(".SH SEE ALSO\n\\fBbackstop\\fR(1), docs/cli.md\n");
        return b.toString();
    }

    /** Text for troff: backslashes escaped, a line never starting with a control character. */
    static String escape(String text) {
        String t = text.replace("\\", "\\e").replace("%%", "%");
        StringBuilder b = new StringBuilder();
        for (String line : t.split("\n", -1)) {
            if (b.length() > 0) {
                b.append('\n');
            }
            b.append(line.startsWith(".") || line.startsWith("'") ? "\\&" + line : line);
        }
        return b.toString();
    }

    /** {@code backstop completion}: prints the bash completion script. */
    @Command(name = "completion", description = "Print the bash completion script (zsh too, with bashcompinit): "
            + "source <(backstop completion), or install share/bash-completion/completions/backstop of the distribution.")
    static final class CompletionCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            Backstop root = (Backstop) spec.root().userObject();
            root.out.print(bash(spec.root().commandLine()));
            root.out.flush();
            return Backstop.OK;
        }
    }
}
