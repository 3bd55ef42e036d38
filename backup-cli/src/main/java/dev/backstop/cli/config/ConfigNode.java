package dev.backstop.cli.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One object of the configuration tree, read key by key. Every key asked for is remembered, so
 * {@link #finish()} can refuse the keys nobody asked for and list the ones allowed there; every
 * failure names the dotted key path, the value given (unless it is a secret) and what is allowed.
 * String values are interpolated: {@code ${NAME}}, {@code ${NAME:-default}} and
 * {@code ${file:/path}} (the file's content without its trailing line break).
 */
final class ConfigNode {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]*)}");
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})([smhdw])");

    private final String path;
    private final JsonNode node;
    private final Map<String, String> env;
    private final Set<String> asked = new LinkedHashSet<>();

    ConfigNode(String path, JsonNode node, Map<String, String> env) {
        this.path = path;
        this.node = node;
        this.env = env;
        if (!node.isObject()) {
            throw new ConfigException(path, "got " + describe(node) + ", expected an object { ... }");
        }
    }

    String path() {
        return path;
    }

    String pathOf(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    boolean has(String key) {
        asked.add(key);
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    ConfigNode object(String key) {
        return optObject(key).orElseThrow(() -> missing(key, "an object { ... }"));
    }

    Optional<ConfigNode> optObject(String key) {
        return has(key) ? Optional.of(new ConfigNode(pathOf(key), node.get(key), env)) : Optional.empty();
    }

    /** The object at {@code key}; empty when the key is absent or holds a plain value (read it with {@link #optString}). */
    Optional<ConfigNode> optObjectOrValue(String key) {
        return has(key) && node.get(key).isObject() ? optObject(key) : Optional.empty();
    }

    String string(String key) {
        return optString(key).orElseThrow(() -> missing(key, "a string"));
    }

    Optional<String> optString(String key) {
        return optText(key, false);
    }

    Optional<Secret> optSecret(String key) {
        return optText(key, true).map(Secret::of);
    }

    /** An enumerated string value, compared without regard to case. */
    <T> Optional<T> optChoice(String key, Map<String, T> allowed) {
        return optString(key).map(v -> {
            T t = allowed.get(v.toLowerCase(java.util.Locale.ROOT));
            if (t == null) {
                throw bad(key, v, "one of " + String.join(", ", new TreeSet<>(allowed.keySet())));
            }
            return t;
        });
    }

    Optional<Integer> optInt(String key, int min, int max) {
        if (!has(key)) {
            return Optional.empty();
        }
        JsonNode v = node.get(key);
        String expected = "a whole number from " + min + " to " + max;
        String text = v.isTextual() ? interpolate(key, v.asText(), false) : v.asText();
        if (!(v.isIntegralNumber() || v.isTextual())) {
            throw bad(key, describe(v), expected);
        }
        try {
            int n = Integer.parseInt(text.trim());
            if (n < min || n > max) {
                throw bad(key, text, expected);
            }
            return Optional.of(n);
        } catch (NumberFormatException e) {
            throw bad(key, text, expected);
        }
    }

    boolean bool(String key, boolean dflt) {
        if (!has(key)) {
            return dflt;
        }
        JsonNode v = node.get(key);
        if (v.isBoolean()) {
            return v.asBoolean();
        }
        String text = v.isTextual() ? interpolate(key, v.asText(), false) : describe(v);
        return switch (text) {
            case "true" -> true;
            case "false" -> false;
            default -> throw bad(key, text, "true or false");
        };
    }

    Optional<Duration> optDuration(String key) {
        return optString(key).map(v -> {
            try {
                return duration(v);
            } catch (IllegalArgumentException e) {
                throw bad(key, v, e.getMessage());
            }
        });
    }

    /** Parses {@code 30d}, {@code 12h}, {@code 90m}, {@code 45s} or {@code 2w}. */
    static Duration duration(String text) {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("a duration like \"7d\" (a number followed by s, m, h, d or w)");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofDays(7 * n);
        };
    }

    Optional<Path> optPath(String key) {
        return optString(key).map(v -> {
            if (v.isBlank()) {
                throw bad(key, v, "a file system path");
            }
            return Path.of(v);
        });
    }

    Optional<URI> optUri(String key) {
        return optString(key).map(v -> {
            try {
                URI u = new URI(v);
                if (u.getScheme() == null || u.getHost() == null) {
                    throw bad(key, v, "an absolute URL like \"https://host:port\"");
                }
                return u;
            } catch (URISyntaxException e) {
                throw bad(key, v, "an absolute URL like \"https://host:port\"");
            }
        });
    }

    /** A list of strings, each one of {@code allowed} (any string when it is empty). */
    List<String> stringList(String key, Set<String> allowed) {
        if (!has(key)) {
            return List.of();
        }
        JsonNode v = node.get(key);
        if (!v.isArray()) {
            throw bad(key, describe(v), "a list [\"...\", ...]");
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            String p = key + "[" + i + "]";
            if (!e.isTextual()) {
                throw bad(p, describe(e), "a string");
            }
            String s = interpolate(p, e.asText(), false);
            if (!allowed.isEmpty() && !allowed.contains(s)) {
                throw bad(p, s, "one of " + String.join(", ", new TreeSet<>(allowed)));
            }
            out.add(s);
        }
        return List.copyOf(out);
    }

    /** A list of objects, each read as a node of its own ({@code key[0]}, {@code key[1]}, ...). */
    List<ConfigNode> objectList(String key) {
        if (!has(key)) {
            return List.of();
        }
        JsonNode v = node.get(key);
        if (!v.isArray()) {
            throw bad(key, describe(v), "a list [{...}, ...]");
        }
        List<ConfigNode> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            out.add(new ConfigNode(pathOf(key) + "[" + i + "]", v.get(i), env));
        }
        return List.copyOf(out);
    }

    /** Refuses any key that was never asked for: a typo must not be silently ignored. */
    void finish() {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!asked.contains(k)) {
                throw new ConfigException(pathOf(k), "unknown key; allowed here: " + String.join(", ", asked));
            }
        }
    }

    ConfigException missing(String key, String expected) {
        return new ConfigException(pathOf(key), "missing; expected " + expected);
    }

    ConfigException bad(String key, String given, String expected) {
        return new ConfigException(pathOf(key), "got \"" + given + "\", expected " + expected);
    }

    private Optional<String> optText(String key, boolean secret) {
        if (!has(key)) {
            return Optional.empty();
        }
        JsonNode v = node.get(key);
        if (!v.isValueNode() || v.isNull()) {
            throw new ConfigException(pathOf(key), "got " + describe(v) + ", expected a string");
        }
        return Optional.of(interpolate(key, v.asText(), secret));
    }

    private String interpolate(String key, String raw, boolean secret) {
        Matcher m = PLACEHOLDER.matcher(raw);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(resolve(key, m.group(1), secret)));
        }
        m.appendTail(out);
        return out.toString();
    }

    private String resolve(String key, String expr, boolean secret) {
        if (expr.startsWith("file:")) {
            Path file = Path.of(expr.substring("file:".length()));
            try {
                String s = Files.readString(file, StandardCharsets.UTF_8);
                return s.endsWith("\r\n") ? s.substring(0, s.length() - 2) : s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
            } catch (IOException e) {
                throw new ConfigException(pathOf(key), "${" + expr + "}: cannot read " + file + " (" + e.getClass().getSimpleName()
                        + "); expected a readable file");
            }
        }
        int dash = expr.indexOf(":-");
        String name = dash < 0 ? expr : expr.substring(0, dash);
        if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new ConfigException(pathOf(key), "${" + expr + "}: expected ${NAME}, ${NAME:-default} or ${file:/path}");
        }
        String value = env.get(name);
        if (value == null || value.isEmpty() && dash >= 0) {
            if (dash >= 0) {
                return expr.substring(dash + 2);
            }
            throw new ConfigException(pathOf(key), "${" + name + "} is not set in the environment"
                    + (secret ? "" : "; set it or write ${" + name + ":-default}"));
        }
        return value;
    }

    private static String describe(JsonNode v) {
        return v.isContainerNode() ? (v.isArray() ? "a list" : "an object") : v.isNull() ? "null" : v.asText();
    }

    static <T> Map<String, T> choices(Function<T, String> name, List<T> values) {
        Map<String, T> m = new java.util.LinkedHashMap<>();
        values.forEach(v -> m.put(name.apply(v), v));
        return m;
    }
}
