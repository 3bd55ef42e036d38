package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DumpProcessTest {
    @TempDir
    Path tmp;

    /** A stand-in dump program: answers --version, else writes 300,000 numbered lines through stdio (awk). */
    private Path program() throws IOException {
        return script("dump", "#!/bin/sh\n[ \"$1\" = --version ] && exit 0\n"
                + "exec awk 'BEGIN { for (i = 0; i < 300000; i++) printf \"INSERT INTO `t` VALUES (%d);\\n\", i }'\n");
    }

    private Path script(String name, String text) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, text);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
        return p;
    }

    private static byte[] output(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out;
        try (InputStream in = p.getInputStream()) {
            out = in.readAllBytes();
        }
        assertThat(p.waitFor()).isZero();
        return out;
    }

    @Test
    void withOutputBuffer_runsTheProgramUnderStdbuf_andItWritesTheSameBytes() throws Exception {
        MariaDbTools tools = MariaDbTools.locate();
        assumeThat(tools.find("stdbuf")).as("coreutils' stdbuf on this machine").isPresent();
        List<String> cmd = List.of(program().toString(), "--single-transaction", "shop");

        List<String> buffered = DumpProcess.withOutputBuffer(cmd, tools);

        assertThat(buffered).containsExactly(tools.find("stdbuf").get().toString(), "-o", DumpProcess.OUTPUT_BUFFER,
                cmd.get(0), "--single-transaction", "shop");
        byte[] plain = output(cmd);
        assertThat(plain).hasSizeGreaterThan(1 << 20);
        assertThat(output(buffered)).isEqualTo(plain);
    }

    @Test
    void withOutputBuffer_withoutStdbuf_leavesTheCommandAsItIs() throws Exception {
        MariaDbTools tools = MariaDbTools.locate().with("stdbuf", tmp.resolve("no-such-stdbuf"));
        List<String> cmd = List.of(program().toString(), "shop");

        assertThat(DumpProcess.withOutputBuffer(cmd, tools)).isEqualTo(cmd);
    }

    @Test
    void withOutputBuffer_withAStdbufThatCannotRunTheProgram_leavesTheCommandAsItIs() throws Exception {
        // as coreutils' stdbuf fails when its preload library is missing
        Path broken = script("stdbuf", "#!/bin/sh\necho 'stdbuf: failed to find libstdbuf.so' >&2\nexit 125\n");
        MariaDbTools tools = MariaDbTools.locate().with("stdbuf", broken);
        List<String> cmd = new ArrayList<>(List.of(program().toString(), "shop"));

        assertThat(DumpProcess.withOutputBuffer(cmd, tools)).isEqualTo(cmd);
    }
}
