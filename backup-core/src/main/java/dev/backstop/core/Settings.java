package dev.backstop.core;

import java.util.Objects;

/** The rule every builder of this package follows: a setting is given at most once. */
final class Settings {
    private Settings() {
    }

    /**
     * {@code value}, if {@code current} is still unset (null).
     *
     * @throws IllegalStateException naming the setting, the value it has and the one given again
     */
    static <T> T once(String setting, T current, T value) {
        Objects.requireNonNull(value, setting);
        if (current != null) {
            throw new IllegalStateException(setting + ": already set to " + current + ", given again " + value);
        }
        return value;
    }
}
