package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The Kubernetes manifests of the docs are copy-paste correct: they parse, and every backstop
 * command line they run is one the command accepts. (The Java snippets compile in DocSnippetsTest.)
 */
class EmbeddingDocTest {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static List<String> blocks(String page, String language) throws Exception {
        String text = Files.readString(Path.of("..", "docs", page));
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("(?s)```" + language + "\n(.*?)```").matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /** The backstop argument lists a container runs: its args under the image's backstop entrypoint, or its sh -c line. */
    static List<List<String>> commandLines(JsonNode container) {
        List<List<String>> out = new ArrayList<>();
        if (container.has("command")) {
            JsonNode c = container.get("command");
            assertThat(c.get(0).asText() + " " + c.get(1).asText()).isEqualTo("sh -c");
            for (String part : c.get(2).asText().split("&&")) {
                List<String> words = new ArrayList<>(List.of(part.trim().split("\\s+")));
                assertThat(words.remove(0)).isEqualTo("backstop");
                out.add(words);
            }
        } else {
            List<String> words = new ArrayList<>();
            container.get("args").forEach(a -> words.add(a.asText()));
            out.add(words);
        }
        return out;
    }

    @Test
    void cronJobs_parse_andRunCommandLinesBackstopAccepts() throws Exception {
        List<JsonNode> jobs = new ArrayList<>();
        for (String page : List.of("embedding.md", "cli.md")) {
            for (String yaml : blocks(page, "yaml")) {
                jobs.add(YAML.readTree(yaml));
            }
        }
        assertThat(jobs).hasSizeGreaterThanOrEqualTo(2).allSatisfy(job -> {
            assertThat(job.get("apiVersion").asText()).isEqualTo("batch/v1");
            assertThat(job.get("kind").asText()).isEqualTo("CronJob");
            JsonNode container = job.at("/spec/jobTemplate/spec/template/spec/containers/0");
            assertThat(container.get("env").toString()).contains("BACKSTOP_CONFIG");
            for (List<String> args : commandLines(container)) {
                CommandLine cmd = Backstop.commandLine(Map.of(), new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
                // parses as the command would, without running it
                CommandLine.ParseResult parsed = cmd.parseArgs(args.toArray(String[]::new));
                assertThat(parsed.hasSubcommand()).as("%s", args).isTrue();
            }
        });
    }

    @Test
    void dockerfile_shipsTheDistributionWithTheLauncherAsEntrypoint() throws Exception {
        assertThat(blocks("embedding.md", "dockerfile")).singleElement().satisfies(d -> assertThat(d)
                .contains("COPY backup-cli/target/backstop /opt/backstop", "ENTRYPOINT [\"backstop\"]", "postgresql-client"));
        assertThat(Path.of("src/main/dist/bin/backstop")).isRegularFile();
        assertThat(Path.of("src/main/dist/bin/backstop-cds")).isRegularFile();
    }
}
