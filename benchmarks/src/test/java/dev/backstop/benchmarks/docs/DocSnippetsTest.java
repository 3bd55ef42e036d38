package dev.backstop.benchmarks.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.benchmarks.docs.MarkdownSnippets.Page;
import dev.backstop.benchmarks.docs.MarkdownSnippets.Snippet;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.retention.BackupRecord;
import dev.backstop.core.retention.Expiry;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code ```java} block of the README, the docs and the module READMEs compiles, by the
 * convention {@link MarkdownSnippets} describes; the README's embedding example also runs.
 */
class DocSnippetsTest {
    @TempDir
    Path tmp;

    @Test
    void everyJavaSnippet_inTheReadmeAndDocs_compilesWithItsPagesImports() throws IOException {
        List<Page> pages = pages();
        List<SnippetCompiler.Source> sources = new ArrayList<>();
        int blocks = 0;
        for (Page page : pages) {
            for (Snippet s : page.snippets()) {
                sources.add(SnippetCompiler.compilable(page, s, 0));
                blocks++;
            }
        }

        List<String> errors = SnippetCompiler.compile(sources, Files.createDirectories(tmp.resolve("classes")));

        assertThat(blocks).as("java blocks found in %s", pages.stream().map(Page::file).toList()).isGreaterThan(10);
        assertThat(errors).as("snippets that do not compile").isEmpty();
    }

    @Test
    void readmeEmbeddingExample_runsAsWritten_andLeavesAVerifiedBackupAndTheRestoredTar() throws Exception {
        Page readme = MarkdownSnippets.read(repositoryRoot(), Path.of("README.md"));
        List<Snippet> run = readme.snippets().stream().filter(Snippet::run).toList();
        assertThat(run).as("README blocks marked run").hasSize(2);
        Path root = tmp.resolve("root");
        Path data = Files.createDirectories(root.resolve("srv/data"));
        Files.writeString(data.resolve("orders.csv"), "1,shipped\n2,pending\n");
        Files.createDirectories(root.resolve("etc/backstop"));
        Files.createDirectories(root.resolve("var/backups"));
        Files.createDirectories(root.resolve("tmp"));
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        SnippetCompiler.Source source = SnippetCompiler.runnable(readme, run);
        assertThat(SnippetCompiler.compile(List.of(source), classes)).isEmpty();

        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()}, getClass().getClassLoader())) {
            loader.loadClass(SnippetCompiler.PACKAGE + "." + source.className()).getMethod("run", String.class)
                    .invoke(null, root.toString());
        }

        Repository repo = Repository.filesystem(root.resolve("var/backups/shop"));
        List<Manifest> backups = repo.catalog().list();
        assertThat(backups).hasSize(1);
        Path tar = root.resolve("tmp/data.tar");
        assertThat(Files.size(tar)).isEqualTo(backups.get(0).plaintextBytes());
        Process p = new ProcessBuilder("tar", "-xOf", tar.toString(), "./orders.csv").start();
        assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("1,shipped\n2,pending\n");
        assertThat(p.waitFor()).isZero();
        List<BackupRecord> history = Expiry.builder().repository(repo)
                .planner(RetentionPlanner.of(RetentionPolicy.keepLast(1))).build().history().backups();
        assertThat(history).singleElement().satisfies(b -> assertThat(b.verified())
                .as("the README's keyed check records the backup as verified").isTrue());
    }

    @Test
    void parse_ofGivenMembersAndImports_declaresFieldsAndKeepsMarkdownLines() {
        Page page = MarkdownSnippets.parse(Path.of("page.md"), List.of(
                "<!-- snippet: imports -->",
                "```java",
                "import java.util.List;",
                "```",
                "text",
                "<!-- snippet: members; given List<String> names; int n -->",
                "",
                "```java",
                "int size() { return names.size() + n; }",
                "```",
                "```sh",
                "not java",
                "```"));

        assertThat(page.imports()).isEqualTo("import java.util.List;");
        assertThat(page.snippets()).singleElement().satisfies(s -> {
            assertThat(s.members()).isTrue();
            assertThat(s.run()).isFalse();
            assertThat(s.given()).containsExactly("List<String> names", "int n");
            assertThat(s.line()).isEqualTo(9);
        });
    }

    @Test
    void parse_ofAMistypedDirective_failsNamingItsLine() {
        assertThatThrownBy(() -> MarkdownSnippets.parse(Path.of("page.md"), List.of(
                "<!-- snippet: member -->", "```java", "int x;", "```")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("page.md:1")
                .hasMessageContaining("unknown snippet directive 'member'");
    }

    @Test
    void compile_ofASnippetThatDoesNotCompile_reportsTheMarkdownLine() throws IOException {
        Page page = MarkdownSnippets.parse(Path.of("page.md"), List.of(
                "intro", "```java", "int ok = 1;", "String s = undefinedVariable;", "```"));

        List<String> errors = SnippetCompiler.compile(List.of(SnippetCompiler.compilable(page, page.snippets().get(0), 0)),
                Files.createDirectories(tmp.resolve("bad")));

        assertThat(errors).anySatisfy(e -> assertThat(e).startsWith("page.md:4: ").contains("undefinedVariable"));
    }

    private static List<Page> pages() throws IOException {
        Path root = repositoryRoot();
        List<Path> files = new ArrayList<>();
        files.add(root.resolve("README.md"));
        try (Stream<Path> docs = Files.list(root.resolve("docs"));
             Stream<Path> modules = Files.list(root)) {
            docs.filter(f -> f.toString().endsWith(".md")).sorted().forEach(files::add);
            modules.map(m -> m.resolve("README.md")).filter(Files::isRegularFile).sorted().forEach(files::add);
        }
        List<Page> pages = new ArrayList<>();
        for (Path f : files) {
            pages.add(MarkdownSnippets.read(root, root.relativize(f)));
        }
        return pages;
    }

    /** The checkout's root: the nearest directory up from the module with a README.md and docs/. */
    static Path repositoryRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !(Files.isRegularFile(dir.resolve("README.md")) && Files.isDirectory(dir.resolve("docs")))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("no README.md with a docs/ directory above " + Path.of("").toAbsolutePath());
        }
        return dir;
    }
}
