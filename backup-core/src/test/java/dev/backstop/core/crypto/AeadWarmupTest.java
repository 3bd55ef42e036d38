package dev.backstop.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import dev.backstop.core.BackupId;
import dev.backstop.core.ObjectBinding;
import org.junit.jupiter.api.Test;

class AeadWarmupTest {
    @Test
    void warmup_finishesAndLeavesStreamsRoundTripping() throws Exception {
        AeadWarmup.startOnce();
        AeadWarmup.startOnce(); // a second start is a no-op

        assertThat(AeadWarmup.await(60, TimeUnit.SECONDS)).isTrue();

        byte[] key = new byte[32];
        new Random(1).nextBytes(key);
        AeadTransform t = AeadTransform.withKey(key);
        ObjectBinding binding = ObjectBinding.of(BackupId.parse("20261121T031500Z-physical-abc123"), "backups/x/base.tar");
        byte[] plain = new byte[3 << 20];
        new Random(2).nextBytes(plain);
        ByteArrayOutputStream sealed = new ByteArrayOutputStream();
        try (OutputStream out = t.encode(sealed, binding)) {
            out.write(plain);
        }
        try (InputStream in = t.decode(new ByteArrayInputStream(sealed.toByteArray()), binding, sealed.size())) {
            assertThat(in.readAllBytes()).isEqualTo(plain);
        }
    }
}
