package dev.backstop.benchmarks;

import java.util.HashMap;
import java.util.Map;

/** The {@code --name=value} options of the benchmark mains (after the command word). */
final class BenchOptions {
    private final Map<String, String> values = new HashMap<>();

    private BenchOptions() {
    }

    static BenchOptions parse(String[] args, int from) {
        BenchOptions o = new BenchOptions();
        for (int i = from; i < args.length; i++) {
            String a = args[i];
            int eq = a.indexOf('=');
            if (!a.startsWith("--") || eq < 0) {
                throw new IllegalArgumentException("option '" + a + "': expected --name=value");
            }
            o.values.put(a.substring(2, eq), a.substring(eq + 1));
        }
        return o;
    }

    String req(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException("missing option --" + name + "=...");
        }
        return v;
    }

    String getOrDefault(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }
}
