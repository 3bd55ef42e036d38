package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DocsTest {
    static CommandLine commandLine() {
        return Backstop.commandLine(Map.of(), new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
    }

    @Test
    void completion_printsABashScript_thatCompletesEveryTopLevelCommand() {
        StringWriter out = new StringWriter();
        assertThat(Backstop.execute(new String[] {"completion"}, Map.of(), new PrintWriter(out), new PrintWriter(new StringWriter())))
                .isZero();
        String script = out.toString();
        assertThat(script).startsWith("#!/usr/bin/env bash").contains("complete -F _complete_backstop", "--dry-run", "--target-time");
        assertThat(commandLine().getSubcommands().keySet()).hasSizeGreaterThan(15).allSatisfy(command ->
                assertThat(script).as("the script completes %s", command).containsPattern("(?m)\\b" + command + "\\b"));
        assertThat(script).as("sub-sub-commands").contains("archive-push", "archive-get", "rotate", "rewrap");
    }

    @Test
    void everyCommandThatPrintsAResult_takesJson_exceptTheDaemonsTheWalHooksAndTheReport() {
        java.util.List<String> without = new java.util.ArrayList<>();
        java.util.Deque<CommandLine> pending = new java.util.ArrayDeque<>(commandLine().getSubcommands().values());
        while (!pending.isEmpty()) {
            CommandLine c = pending.pop();
            if (!c.getSubcommands().isEmpty()) {
                pending.addAll(c.getSubcommands().values());
            } else if (c.getCommandSpec().findOption("--json") == null) {
                without.add(c.getCommandSpec().qualifiedName());
            }
        }
        // run, wal (its hooks and its receiver) and binlog stream speak to a service manager and to the database; report
        // has --format json; demo, completion and help print for people
        assertThat(without).containsExactlyInAnyOrder("backstop run", "backstop wal archive-push", "backstop wal archive-get",
                "backstop wal drain", "backstop wal prefetch", "backstop wal rpo", "backstop wal receive", "backstop binlog stream",
                "backstop demo",
                "backstop report",
                "backstop completion", "backstop help");
    }

    @Test
    void manPages_oneForEachCommand_withItsOptionsAndTheExitCodes() {
        Map<String, String> pages = Docs.manPages(commandLine());

        for (String command : commandLine().getSubcommands().keySet()) {
            assertThat(pages).as("a page for %s", command).containsKey("backstop-" + command + ".1");
        }
        assertThat(pages).containsKeys("backstop.1", "backstop-wal-archive-push.1", "backstop-keys-rotate.1");
        String root = pages.get("backstop.1");
        assertThat(root).startsWith(".TH \"BACKSTOP\" 1").contains(".SH NAME\nbackstop \\- Verified database backups",
                ".SH COMMANDS", "\\fBbackup\\fR", ".SH EXIT CODES", "  5  the repository lock is held by another process");
        String restore = pages.get("backstop-restore.1");
        assertThat(restore).contains(".SH SYNOPSIS", "\\fB\\-\\-target\\-name\\fR \\fINAME\\fR", "\\fB\\-\\-to\\fR, \\fB\\-\\-to\\-directory\\fR \\fIDIR\\fR",
                "MariaDB only");
        assertThat(pages.get("backstop-wal-archive-push.1")).contains("(%p %f)").doesNotContain("%%");
        // no line may start with a character troff would take for a request
        pages.values().forEach(page -> assertThat(page.lines().filter(l -> l.startsWith("'"))).isEmpty());
    }

    @Test
    void everyCommand_isInTheCommandsTableOfTheDocs() throws Exception {
        String doc = java.nio.file.Files.readString(java.nio.file.Path.of("../docs/cli.md"));
        String table = doc.substring(doc.indexOf("## Commands"), doc.indexOf("## Exit codes"));
        java.util.List<String> missing = new java.util.ArrayList<>();
        java.util.Deque<CommandLine> pending = new java.util.ArrayDeque<>(commandLine().getSubcommands().values());
        while (!pending.isEmpty()) {
            CommandLine c = pending.pop();
            String name = c.getCommandSpec().qualifiedName();
            if (!c.getSubcommands().isEmpty()) {
                pending.addAll(c.getSubcommands().values());
            } else if (!name.equals("backstop help") && !table.contains("| `" + name)) {
                missing.add(name);
            }
        }
        assertThat(missing).as("commands without a row in docs/cli.md's table").isEmpty();
    }

    /** Every leaf command's qualified name, {@code backstop help} aside. */
    static java.util.List<String> leafCommands() {
        java.util.List<String> names = new java.util.ArrayList<>();
        java.util.Deque<CommandLine> pending = new java.util.ArrayDeque<>(commandLine().getSubcommands().values());
        while (!pending.isEmpty()) {
            CommandLine c = pending.pop();
            if (!c.getSubcommands().isEmpty()) {
                pending.addAll(c.getSubcommands().values());
            } else if (!c.getCommandSpec().qualifiedName().equals("backstop help")) {
                names.add(c.getCommandSpec().qualifiedName());
            }
        }
        return names;
    }

    /** The fenced code blocks of operations.md's commands section, each with its language. */
    static java.util.List<String[]> commandExamples() throws Exception {
        String doc = java.nio.file.Files.readString(java.nio.file.Path.of("../docs/operations.md"));
        int start = doc.indexOf("## Every command, with an example");
        assertThat(start).as("operations.md has its commands section").isNotNegative();
        String section = doc.substring(start, doc.indexOf("\n## ", start + 1));
        java.util.List<String[]> blocks = new java.util.ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?ms)^```(\\w*)\\n(.*?)^```").matcher(section);
        while (m.find()) {
            blocks.add(new String[] {m.group(1), m.group(2)});
        }
        return blocks;
    }

    @Test
    void everyCommand_hasACopyPasteExampleInOperations() throws Exception {
        java.util.List<String[]> blocks = commandExamples();
        java.util.List<String> missing = leafCommands().stream().filter(name -> blocks.stream().noneMatch(b ->
                java.util.regex.Pattern.compile("(?m)" + java.util.regex.Pattern.quote(name) + "([ '|>]|$)").matcher(b[1]).find()))
                .toList();
        assertThat(missing).as("commands without an example in docs/operations.md's commands section").isEmpty();
    }

    @Test
    void everyShellExampleInOperations_parsesWithTheCommandsOptions() throws Exception {
        java.util.List<String> lines = commandExamples().stream().filter(b -> b[0].equals("sh"))
                .flatMap(b -> b[1].lines()).filter(l -> l.startsWith("backstop ")).toList();
        assertThat(lines).hasSizeGreaterThan(30);
        for (String line : lines) {
            String command = line.replaceAll("\\s+#.*$", "").replaceAll("\\s*[|>].*$", "");
            java.util.List<String> args = new java.util.ArrayList<>();
            for (String word : command.substring("backstop ".length()).trim().split("\\s+")) {
                args.add(word.startsWith("'") && word.endsWith("'") ? word.substring(1, word.length() - 1) : word);
            }
            try {
                commandLine().parseArgs(args.toArray(String[]::new));
            } catch (CommandLine.ParameterException e) {
                throw new AssertionError("docs/operations.md: " + line + ": " + e.getMessage(), e);
            }
        }
    }
}
