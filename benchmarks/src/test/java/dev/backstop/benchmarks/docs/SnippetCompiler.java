package dev.backstop.benchmarks.docs;

import dev.backstop.benchmarks.docs.MarkdownSnippets.Page;
import dev.backstop.benchmarks.docs.MarkdownSnippets.Snippet;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/**
 * Turns Markdown snippets into Java classes and compiles them with the test class path, reporting
 * each error at its line in the Markdown page.
 */
final class SnippetCompiler {
    static final String PACKAGE = "snippets";
    /** The parameter that holds the temporary root of a run snippet's absolute paths. */
    static final String ROOT = "snippetRoot";
    private static final Pattern ABSOLUTE_PATH_LITERAL = Pattern.compile("\"(/[^\"\\\\]*)\"");

    /** A generated source and where each of its lines came from. */
    record Source(String className, String text, Map<Integer, String> origins) {
    }

    private SnippetCompiler() {
    }

    /** One class per snippet: the page's imports, the given variables as fields, the code. */
    static Source compilable(Page page, Snippet s, int index) {
        String name = className(page.file(), "Snippet", s.line(), index);
        Builder b = new Builder(name, page);
        b.line("class " + name + " {", null);
        for (String given : s.given()) {
            b.line("    " + given + ";", origin(page.file(), s.line() - 1));
        }
        if (!s.members()) {
            b.line("    void snippet() throws Exception {", null);
        }
        b.code(s.code(), s.line(), false);
        if (!s.members()) {
            b.line("    }", null);
        }
        b.line("}", null);
        return b.build();
    }

    /**
     * One class whose static {@code run(String snippetRoot)} runs the page's {@code run} snippets in
     * order, with every string literal that starts with {@code /} moved under {@code snippetRoot}.
     */
    static Source runnable(Page page, List<Snippet> run) {
        String name = className(page.file(), "Run", 0, 0);
        Builder b = new Builder(name, page);
        b.line("public class " + name + " {", null);
        b.line("    public static void run(String " + ROOT + ") throws Exception {", null);
        for (Snippet s : run) {
            b.code(s.code(), s.line(), true);
        }
        b.line("    }", null);
        b.line("}", null);
        return b.build();
    }

    /** Compiles {@code sources} into {@code out}; returns the errors, each as "page:line: message". */
    static List<String> compile(List<Source> sources, Path out) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        Map<String, Source> byUri = new LinkedHashMap<>();
        List<JavaFileObject> units = new ArrayList<>();
        for (Source src : sources) {
            JavaFileObject unit = new SimpleJavaFileObject(URI.create("string:///" + PACKAGE + "/" + src.className() + ".java"),
                    JavaFileObject.Kind.SOURCE) {
                @Override
                public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                    return src.text();
                }
            };
            byUri.put(unit.toUri().toString(), src);
            units.add(unit);
        }
        List<String> options = List.of("-classpath", classPath(), "-d", out.toString(), "-proc:none",
                "-Xlint:deprecation", "-Werror", "-encoding", "UTF-8");
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT, null)) {
            javac.getTask(null, files, diagnostics, options, null, units).call();
        }
        List<String> errors = new ArrayList<>();
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() != Diagnostic.Kind.ERROR && d.getKind() != Diagnostic.Kind.WARNING
                    && d.getKind() != Diagnostic.Kind.MANDATORY_WARNING) {
                continue;
            }
            Source src = d.getSource() == null ? null : byUri.get(d.getSource().toUri().toString());
            String where = src == null ? "javac" : src.origins().getOrDefault((int) d.getLineNumber(),
                    src.className() + ".java:" + d.getLineNumber());
            String text = src == null || d.getLineNumber() < 1 ? "" : "\n        " + src.text().lines()
                    .skip(d.getLineNumber() - 1).findFirst().orElse("").strip();
            errors.add(where + ": " + d.getMessage(Locale.ROOT) + text);
        }
        return errors;
    }

    /** The class path the tests run with (Surefire puts it in a property of its own). */
    static String classPath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
    }

    private static String className(Path page, String kind, int line, int index) {
        String base = page.getFileName().toString().replaceFirst("\\.md$", "").replaceAll("[^A-Za-z0-9]", "_");
        String dir = page.getParent() == null || page.getParent().getFileName() == null ? ""
                : page.getParent().getFileName().toString().replaceAll("[^A-Za-z0-9]", "_") + "_";
        return kind + "_" + dir + base + (line > 0 ? "_L" + line : "") + (index > 0 ? "_" + index : "");
    }

    private static String origin(Path page, int line) {
        return page + ":" + line;
    }

    private static final class Builder {
        private final String name;
        private final Page page;
        private final StringBuilder text = new StringBuilder();
        private final Map<Integer, String> origins = new LinkedHashMap<>();
        private int lines;

        Builder(String name, Page page) {
            this.name = name;
            this.page = page;
            line("package " + PACKAGE + ";", null);
            code(page.imports(), page.importsLine(), false);
        }

        void line(String s, String origin) {
            lines++;
            text.append(s).append('\n');
            if (origin != null) {
                origins.put(lines, origin);
            }
        }

        void code(String code, int firstLine, boolean reroot) {
            if (code.isEmpty()) {
                return;
            }
            int n = firstLine;
            for (String l : code.split("\n", -1)) {
                line(reroot ? reroot(l) : l, origin(page.file(), n++));
            }
        }

        Source build() {
            return new Source(name, text.toString(), Map.copyOf(origins));
        }
    }

    private static String reroot(String line) {
        Matcher m = ABSOLUTE_PATH_LITERAL.matcher(line);
        return m.replaceAll(r -> Matcher.quoteReplacement("(" + ROOT + " + \"" + r.group(1) + "\")"));
    }
}
