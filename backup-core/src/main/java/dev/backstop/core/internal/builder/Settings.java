package dev.backstop.core.internal.builder;

import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * Remembers which settings of one builder were given, so that a second call fails instead of
 * silently replacing the first: a configuration assembled in two places that disagree is a bug
 * to report, not a race to settle by call order.
 *
 * <p>Messages read {@code "<setting>: already set to X, given again Y"}; a caller passing a
 * secret passes a redacted description of it instead. Not thread-safe, like the builders.
 */
public final class Settings {
    private final Set<String> given = new HashSet<>();

    /**
     * Records {@code setting} as given and returns {@code value}; throws {@link
     * IllegalStateException} if it was given before ({@code current} is what it was set to).
     */
    public <T> T once(String setting, Object current, T value) {
        Objects.requireNonNull(value, setting);
        if (!given.add(setting)) {
            throw new IllegalStateException(setting + ": already set to " + current + ", given again " + value);
        }
        return value;
    }

    /** As {@link #once(String, Object, Object)}, for a setting that may be given as null (meaning "none"). */
    public <T> T onceNullable(String setting, Object current, T value) {
        if (!given.add(setting)) {
            throw new IllegalStateException(setting + ": already set to " + current + ", given again " + value);
        }
        return value;
    }

    /** Records a setting without a value (a switch such as {@code noEncryption()}); throws if given before. */
    public void once(String setting) {
        if (!given.add(setting)) {
            throw new IllegalStateException(setting + ": already set, given again");
        }
    }

    /** Whether {@code setting} was given. */
    public boolean given(String setting) {
        return given.contains(setting);
    }

    /**
     * For a setting whose unset state is null: returns {@code value}, or throws {@link
     * IllegalStateException} if {@code current} is not null.
     */
    public static <T> T onlyOnce(String setting, T current, T value) {
        Objects.requireNonNull(value, setting);
        if (current != null) {
            throw new IllegalStateException(setting + ": already set to " + current + ", given again " + value);
        }
        return value;
    }
}
