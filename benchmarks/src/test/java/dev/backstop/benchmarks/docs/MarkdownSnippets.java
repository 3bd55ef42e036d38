package dev.backstop.benchmarks.docs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code ```java} blocks of a Markdown page, read by the convention that lets the docs stay
 * readable and still compile.
 *
 * <p>An HTML comment on the line before a block (blank lines between are allowed) says how to
 * compile it: {@code <!-- snippet: DIRECTIVES -->}, where DIRECTIVES is a {@code ;}-separated
 * list of
 * <ul>
 *   <li>{@code imports}: the block holds the page's import statements, which every other block on
 *       the page gets (at most one per page; put it in a {@code <details>} element to fold it);
 *   <li>{@code members}: the block holds class members (fields, methods) rather than statements;
 *   <li>{@code run}: a test also runs the block (the README's embedding example);
 *   <li>{@code given Type name; Type name}: variables the block uses without declaring them; they
 *       become fields of the class the block is compiled in. {@code given} takes the rest of the
 *       comment.
 * </ul>
 * A block without a comment holds statements. Every other {@code ```java} block is compiled as the
 * body of a method that may throw any exception.
 */
final class MarkdownSnippets {
    private static final Pattern DIRECTIVE = Pattern.compile("^\\s*<!--\\s*snippet:(.*?)-->\\s*$");
    private static final Pattern ANY_SNIPPET_COMMENT = Pattern.compile("<!--\\s*snippet");

    /** One block: its page, the line of its first code line (1-based), and how to compile it. */
    record Snippet(Path page, int line, String code, List<String> given, boolean members, boolean run) {
    }

    /** A page: its import block (empty if none) and its other blocks, in order. */
    record Page(Path file, String imports, int importsLine, List<Snippet> snippets) {
    }

    private MarkdownSnippets() {
    }

    /** Reads {@code page} under {@code root}; errors name the page by its relative path. */
    static Page read(Path root, Path page) throws IOException {
        return parse(page, Files.readAllLines(root.resolve(page)));
    }

    static Page parse(Path file, List<String> lines) {
        String imports = "";
        int importsLine = 0;
        List<Snippet> snippets = new ArrayList<>();
        String pending = null;
        int pendingLine = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            Matcher m = DIRECTIVE.matcher(line);
            if (m.matches()) {
                pending = m.group(1).trim();
                pendingLine = i + 1;
                continue;
            }
            if (ANY_SNIPPET_COMMENT.matcher(line).find()) {
                throw new IllegalArgumentException(file + ":" + (i + 1) + ": a snippet comment must stand alone on its line: " + line);
            }
            if (line.strip().startsWith("```")) {
                int start = i + 1;
                int end = start;
                while (end < lines.size() && !lines.get(end).strip().equals("```")) {
                    end++;
                }
                if (end == lines.size()) {
                    throw new IllegalArgumentException(file + ":" + (i + 1) + ": code block is never closed");
                }
                boolean java = line.strip().equals("```java");
                if (!java && pending != null) {
                    throw new IllegalArgumentException(file + ":" + pendingLine + ": snippet comment before a block that is not ```java");
                }
                if (java) {
                    String code = String.join("\n", lines.subList(start, end));
                    Directives d = Directives.parse(file, pendingLine, pending == null ? "" : pending);
                    if (d.imports) {
                        if (!imports.isEmpty()) {
                            throw new IllegalArgumentException(file + ":" + pendingLine + ": a page has at most one imports block");
                        }
                        imports = code;
                        importsLine = start + 1;
                    } else {
                        snippets.add(new Snippet(file, start + 1, code, d.given, d.members, d.run));
                    }
                }
                pending = null;
                i = end;
                continue;
            }
            if (!line.isBlank() && pending != null) {
                throw new IllegalArgumentException(file + ":" + pendingLine + ": a snippet comment must come right before its ```java block");
            }
        }
        return new Page(file, imports, importsLine, List.copyOf(snippets));
    }

    private record Directives(boolean imports, boolean members, boolean run, List<String> given) {
        static Directives parse(Path file, int line, String text) {
            boolean imports = false;
            boolean members = false;
            boolean run = false;
            List<String> given = new ArrayList<>();
            String rest = text;
            int g = indexOfGiven(rest);
            if (g >= 0) {
                for (String decl : rest.substring(g + "given".length()).split(";")) {
                    if (!decl.isBlank()) {
                        given.add(decl.strip());
                    }
                }
                rest = rest.substring(0, g);
            }
            for (String word : rest.split("[;\\s]+")) {
                switch (word) {
                    case "" -> { }
                    case "imports" -> imports = true;
                    case "members" -> members = true;
                    case "run" -> run = true;
                    default -> throw new IllegalArgumentException(file + ":" + line + ": unknown snippet directive '" + word
                            + "' (allowed: imports, members, run, given Type name; ...)");
                }
            }
            if (imports && (members || run || !given.isEmpty())) {
                throw new IllegalArgumentException(file + ":" + line + ": an imports block takes no other directive");
            }
            return new Directives(imports, members, run, List.copyOf(given));
        }

        private static int indexOfGiven(String text) {
            Matcher m = Pattern.compile("(^|[;\\s])given\\s").matcher(text);
            return m.find() ? m.start() + m.group(1).length() : -1;
        }
    }
}
