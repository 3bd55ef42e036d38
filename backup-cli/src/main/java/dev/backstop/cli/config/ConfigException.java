package dev.backstop.cli.config;

/**
 * A configuration file that cannot be used: unreadable, malformed, an unknown key or a bad value.
 * The message names the key path, the value given (never for a secret) and what is allowed.
 */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String path;

    /** A problem at {@code path} (dotted, e.g. {@code backup.storage.retention.hot}). */
    public ConfigException(String path, String message) {
        super(path.isEmpty() ? message : path + ": " + message);
        this.path = path;
    }

    /** The dotted key path of the offending setting; empty for the file as a whole. */
    public String path() {
        return path;
    }
}
