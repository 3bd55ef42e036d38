package dev.backstop.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import org.junit.jupiter.api.Test;

class PgPassFileTest {
    @Test
    void pgPassFile_escapesSeparators_isOwnerOnly_andVanishesOnClose() throws IOException {
        Path p;
        try (PgPassFile f = PgPassFile.create("us:er", "pa\\ss:word")) {
            p = f.path();
            assertThat(Files.readString(p)).isEqualTo("*:*:*:us\\:er:pa\\\\ss\\:word\n");
            assertThat(Files.getPosixFilePermissions(p)).containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ,
                    PosixFilePermission.OWNER_WRITE);
        }
        assertThat(p).doesNotExist();
        assertThat(p.getParent()).doesNotExist();
    }
}
