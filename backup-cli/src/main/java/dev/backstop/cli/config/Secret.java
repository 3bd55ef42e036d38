package dev.backstop.cli.config;

import java.util.Objects;

/**
 * A secret setting (a password, a webhook URL with a token in it). Its {@link #toString()} never
 * shows the value, so configuration records can be printed and logged.
 */
public final class Secret {
    private final String value;

    private Secret(String value) {
        this.value = Objects.requireNonNull(value, "value");
    }

    /** Wraps {@code value}. */
    public static Secret of(String value) {
        return new Secret(value);
    }

    /** The secret itself: pass it on, never print it. */
    public String reveal() {
        return value;
    }

    /** True when the value is empty. */
    public boolean isEmpty() {
        return value.isEmpty();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Secret s && s.value.equals(value);
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }

    @Override
    public String toString() {
        return value.isEmpty() ? "(empty)" : "(secret)";
    }
}
