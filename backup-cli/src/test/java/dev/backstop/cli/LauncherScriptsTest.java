package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The options {@code bin/backstop} and {@code bin/backstop-cds} start a JDK with, by the JDK's release: a JDK
 * stand-in (a {@code release} file and a {@code bin/java} that records its arguments) takes the place of a real
 * one, so no JDK 25 is needed to check the choice made for it.
 */
class LauncherScriptsTest {
    @TempDir
    Path tmp;

    @Test
    void launcher_onJdk25WithAnAotCache_startsTheJvmWithTheCache() throws Exception {
        Path app = distribution("backstop.aot", "backstop.jsa");
        List<String> args = run(app, "bin/backstop", jdk("25.0.3"), "");

        assertThat(args).contains("-XX:AOTCache=" + app.resolve("lib/backstop.aot"), "-Xlog:aot*=off",
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow");
        assertThat(args).noneMatch(a -> a.startsWith("-Xshare") || a.startsWith("-XX:SharedArchiveFile"));
        assertThat(args).endsWith("dev.backstop.cli.Backstop", "--version");
    }

    @Test
    void launcher_onJdk25WithoutAnAotCache_mapsTheClassDataSharingArchive() throws Exception {
        Path app = distribution("backstop.jsa");
        List<String> args = run(app, "bin/backstop", jdk("25"), "");

        assertThat(args).contains("-XX:SharedArchiveFile=" + app.resolve("lib/backstop.jsa"));
        assertThat(args).noneMatch(a -> a.startsWith("-XX:AOTCache"));
    }

    @Test
    void launcher_onJdk17_mapsTheClassDataSharingArchive_andLeavesTheAotCacheAndJdk24OptionsOut() throws Exception {
        Path app = distribution("backstop.aot", "backstop.jsa");
        List<String> args = run(app, "bin/backstop", jdk("17.0.15"), "");

        assertThat(args).contains("-Xshare:auto", "-XX:SharedArchiveFile=" + app.resolve("lib/backstop.jsa"));
        assertThat(args).noneMatch(a -> a.startsWith("-XX:AOTCache") || a.startsWith("--enable-native-access")
                || a.startsWith("--sun-misc-unsafe-memory-access"));
    }

    @Test
    void launcher_givenSharingOptionsInBackstopOpts_addsNoArchiveOfItsOwn() throws Exception {
        Path app = distribution("backstop.aot", "backstop.jsa");
        List<String> args = run(app, "bin/backstop", jdk("25.0.3"), "-Xshare:off");

        assertThat(args).contains("-Xshare:off");
        assertThat(args).noneMatch(a -> a.startsWith("-XX:AOTCache") || a.startsWith("-XX:SharedArchiveFile"));
    }

    @Test
    void training_onJdk25_recordsAnAotCache_withTheLaunchersAccessOptions() throws Exception {
        Path app = distribution();
        List<String> args = run(app, "bin/backstop-cds", jdk("25.0.3"), "");

        assertThat(args).anyMatch(a -> a.startsWith("-XX:AOTCacheOutput=" + app.resolve("lib/backstop.aot")));
        assertThat(args).contains("--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow");
        assertThat(args).endsWith("dev.backstop.cli.CdsTraining");
        assertThat(app.resolve("lib/backstop.aot")).isRegularFile();
        assertThat(app.resolve("lib/backstop.jsa")).doesNotExist();
    }

    @Test
    void training_onJdk17_recordsAClassDataSharingArchive() throws Exception {
        Path app = distribution();
        List<String> args = run(app, "bin/backstop-cds", jdk("17.0.15"), "");

        assertThat(args).anyMatch(a -> a.startsWith("-XX:ArchiveClassesAtExit=" + app.resolve("lib/backstop.jsa")));
        assertThat(app.resolve("lib/backstop.jsa")).isRegularFile();
        assertThat(app.resolve("lib/backstop.aot")).doesNotExist();
    }

    /** A distribution with the two scripts and the given (empty) files in lib/. */
    private Path distribution(String... libFiles) throws IOException {
        Path app = tmp.resolve("app");
        Files.createDirectories(app.resolve("bin"));
        Files.createDirectories(app.resolve("lib"));
        for (String script : List.of("backstop", "backstop-cds")) {
            Path to = app.resolve("bin").resolve(script);
            Files.copy(Path.of("src/main/dist/bin").resolve(script), to, StandardCopyOption.REPLACE_EXISTING);
            executable(to);
        }
        for (String f : libFiles) {
            Files.createFile(app.resolve("lib").resolve(f));
        }
        return app;
    }

    /** A JDK stand-in of the given version whose java writes its arguments to args.txt, and the archive asked for. */
    private Path jdk(String version) throws IOException {
        Path home = tmp.resolve("jdk-" + version);
        Files.createDirectories(home.resolve("bin"));
        Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"Test\"\nJAVA_VERSION=\"" + version + "\"\n");
        Path java = home.resolve("bin/java");
        Files.writeString(java, "#!/bin/sh\n"
                + "printf '%s\\n' \"$@\" > \"$(dirname \"$0\")/../args.txt\"\n"
                + "for a in \"$@\"; do case $a in -XX:AOTCacheOutput=*|-XX:ArchiveClassesAtExit=*) : > \"${a#*=}\" ;; esac; done\n");
        executable(java);
        return home;
    }

    /** Runs SCRIPT of APP with JAVA_HOME and BACKSTOP_OPTS; returns the arguments the stand-in java was given. */
    private static List<String> run(Path app, String script, Path javaHome, String opts) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(app.resolve(script).toString());
        if (script.endsWith("/backstop")) {
            pb.command().add("--version");
        }
        Map<String, String> env = pb.environment();
        env.put("JAVA_HOME", javaHome.toString());
        env.put("BACKSTOP_OPTS", opts);
        Process p = pb.redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return Files.readAllLines(javaHome.resolve("args.txt"));
    }

    private static void executable(Path file) throws IOException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
