package dev.backstop.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ToolArgumentsTest {
    @Test
    void loggedArguments_maskPasswordsInConnectionStrings_andKeepTheRest() {
        assertThat(ToolProcess.redacted(List.of("--dbname=host=h password=s3cret user=u", "postgresql://u:s3cret@h/db",
                "--table=password_history", "--format=custom")))
                .containsExactly("--dbname=host=h password=*** user=u", "postgresql://u:***@h/db", "--table=password_history",
                        "--format=custom");
    }
}
