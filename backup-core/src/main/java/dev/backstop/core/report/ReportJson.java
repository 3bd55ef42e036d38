package dev.backstop.core.report;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;

/**
 * A {@link Report} as JSON: instants as ISO-8601 strings ({@code 2026-11-21T02:00:00Z}),
 * durations as ISO-8601 durations ({@code PT6H}), map keys sorted, so that two reports of the same
 * inputs are the same bytes. {@link #read} gives back an equal report.
 */
public final class ReportJson {
    private static final ObjectMapper JSON = new ObjectMapper()
            .registerModule(new SimpleModule("backstop-report")
                    .addSerializer(Instant.class, new ToString<>())
                    .addDeserializer(Instant.class, new Parse<>(Instant::parse))
                    .addSerializer(Duration.class, new ToString<>())
                    .addDeserializer(Duration.class, new Parse<>(Duration::parse)))
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private ReportJson() {
    }

    /** The report as pretty-printed UTF-8 JSON. */
    public static byte[] write(Report report) {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(report);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the report as JSON: " + e, e);
        }
    }

    /**
     * Reads what {@link #write} wrote.
     *
     * @throws IllegalArgumentException when the bytes are not a report
     */
    public static Report read(byte[] json) {
        try {
            return JSON.readValue(json, Report.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a Backstop report in JSON: " + e.getMessage(), e);
        }
    }

    private static final class ToString<T> extends JsonSerializer<T> {
        @Override
        public void serialize(T value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
            gen.writeString(value.toString());
        }
    }

    private static final class Parse<T> extends JsonDeserializer<T> {
        private final java.util.function.Function<String, T> parse;

        Parse(java.util.function.Function<String, T> parse) {
            this.parse = parse;
        }

        @Override
        public T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            try {
                return parse.apply(p.getValueAsString());
            } catch (RuntimeException e) {
                throw ctxt.weirdStringException(p.getValueAsString(), Object.class, e.getMessage());
            }
        }
    }
}
