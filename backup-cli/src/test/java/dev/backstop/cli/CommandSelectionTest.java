package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class CommandSelectionTest {
    /** Exit code, stdout and stderr of one run. */
    record Outcome(int code, String out, String err) {}

    static Outcome lazily(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Backstop.execute(args, Map.of(), new PrintWriter(out), new PrintWriter(err));
        return new Outcome(code, out.toString(), err.toString());
    }

    static Outcome withEveryCommand(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        PrintWriter o = new PrintWriter(out);
        PrintWriter e = new PrintWriter(err);
        int code = Backstop.commandLine(Map.of(), o, e).execute(args);
        o.flush();
        e.flush();
        return new Outcome(code, out.toString(), err.toString());
    }

    static List<String[]> commandLines() {
        List<String[]> lines = new ArrayList<>();
        lines.add(new String[] {});
        lines.add(new String[] {"--version"});
        lines.add(new String[] {"-V"});
        lines.add(new String[] {"--help"});
        lines.add(new String[] {"--version", "backup"});
        lines.add(new String[] {"no-such-command"});
        lines.add(new String[] {"help", "backup"});
        lines.add(new String[] {"completion"});
        for (Class<?> c : Backstop.COMMANDS) {
            String name = c.getAnnotation(Command.class).name();
            lines.add(new String[] {name, "--help"});
            lines.add(new String[] {name, "--no-such-option"});
            lines.add(new String[] {name, "--config", "/nonexistent/backstop.yaml", "extra", "arguments"});
        }
        return lines;
    }

    @Test
    void everyCommandLine_parsesAndPrintsTheSame_withOnlyTheCommandItNames() {
        for (String[] args : commandLines()) {
            assertThat(lazily(args)).as(String.join(" ", args)).isEqualTo(withEveryCommand(args));
        }
    }

    @Test
    void aNamedCommand_loadsOnlyItself_andALoneVersionLoadsNone() {
        assertThat(Backstop.commandsFor(new String[] {"backup", "--config", "x"})).containsExactly(Commands.BackupCommand.class);
        assertThat(Backstop.commandsFor(new String[] {"--version"})).isEmpty();
        assertThat(Backstop.commandsFor(new String[] {"completion"})).isEqualTo(Backstop.COMMANDS);
        assertThat(Backstop.commandsFor(new String[] {"help", "backup"})).isEqualTo(Backstop.COMMANDS);
        assertThat(Backstop.commandsFor(new String[] {"--help"})).isEqualTo(Backstop.COMMANDS);
        assertThat(Backstop.commandsFor(new String[] {})).isEqualTo(Backstop.COMMANDS);
    }

    @Test
    void theRootUsage_listsEveryCommand() {
        String usage = lazily("--help").out();
        for (Class<?> c : Backstop.COMMANDS) {
            assertThat(usage).contains(c.getAnnotation(Command.class).name());
        }
        assertThat(CommandLine.HelpCommand.class.getAnnotation(Command.class).name()).isEqualTo("help");
    }
}
