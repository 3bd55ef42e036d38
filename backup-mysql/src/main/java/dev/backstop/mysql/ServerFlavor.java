package dev.backstop.mysql;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which server a capture talks to, read from {@code SELECT VERSION()}: MariaDB or MySQL, and the
 * version. The flavour decides the dump program's options, because the two have diverged:
 * MariaDB records GTIDs with {@code --gtid} and has no {@code --source-data}; MySQL 8.0.26 and
 * later renamed {@code --master-data} to {@code --source-data}.
 *
 * @param mariadb whether the server is MariaDB (otherwise MySQL or a compatible fork)
 * @param major   major version, such as 10 or 8
 * @param minor   minor version
 * @param patch   patch version
 */
public record ServerFlavor(boolean mariadb, int major, int minor, int patch) {
    private static final Pattern VERSION = Pattern.compile("^(\\d+)\\.(\\d+)\\.(\\d+)");

    /** Parses a {@code VERSION()} string such as {@code 10.11.19-MariaDB-0+deb12u1-log} or {@code 8.0.36}. */
    public static ServerFlavor parse(String version) {
        Objects.requireNonNull(version, "version");
        String v = version.startsWith("5.5.5-") && version.contains("MariaDB") ? version.substring(6) : version;
        Matcher m = VERSION.matcher(v);
        if (!m.find()) {
            throw new IllegalArgumentException("version: got '" + version + "', expected something like 10.11.19-MariaDB or 8.0.36");
        }
        return new ServerFlavor(version.contains("MariaDB"), Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                Integer.parseInt(m.group(3)));
    }

    /** The engine name recorded in manifests: {@code mariadb} or {@code mysql}. */
    public String engine() {
        return mariadb ? "mariadb" : "mysql";
    }

    /** The dump program's name for this flavour. */
    public String dumpProgram() {
        return mariadb ? "mariadb-dump" : "mysqldump";
    }

    /** The client program's name for this flavour. */
    public String clientProgram() {
        return mariadb ? "mariadb" : "mysql";
    }

    private boolean atLeast(int ma, int mi, int pa) {
        if (major != ma) {
            return major > ma;
        }
        if (minor != mi) {
            return minor > mi;
        }
        return patch >= pa;
    }

    /**
     * The dump program's arguments for a consistent dump of {@code database}: the option file
     * first (the programs accept {@code --defaults-file} only there), then one transaction with
     * the binlog position as a comment, routines, events, triggers, binary data as hex, and the
     * database last, alone (without {@code --databases}, so the dump has no {@code USE} and loads
     * into a database of any name).
     */
    List<String> dumpArguments(String optionFileArgument, String database, List<String> extra) {
        List<String> args = new ArrayList<>();
        args.add(optionFileArgument);
        args.add("--single-transaction");
        if (mariadb) {
            args.add("--master-data=2");
            args.add("--gtid");
        } else {
            args.add(atLeast(8, 0, 26) ? "--source-data=2" : "--master-data=2");
            // the GTID set is recorded, not applied: a restore into a server with history must not fail on it
            args.add(atLeast(8, 0, 32) ? "--set-gtid-purged=COMMENTED" : "--set-gtid-purged=OFF");
        }
        args.addAll(List.of("--routines", "--events", "--triggers", "--hex-blob", "--default-character-set=utf8mb4",
                "--quick", "--skip-add-locks"));
        args.addAll(extra);
        args.add(database);
        return args;
    }

    @Override
    public String toString() {
        return (mariadb ? "MariaDB " : "MySQL ") + major + "." + minor + "." + patch;
    }
}
