package dev.backstop.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.ObjectBinding;
import dev.backstop.core.Transform;
import dev.backstop.core.crypto.AeadTransform;
import dev.backstop.testkit.contract.TransformContract;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AeadTransformContractTest extends TransformContract {
    private static final byte[] KEY = new byte[32];

    static {
        Arrays.fill(KEY, (byte) 7);
    }

    @Override
    protected Transform transform() {
        return AeadTransform.withKey(KEY);
    }

    @Test
    void ciphertextMovedToAnotherKey_failsToDecrypt() throws Exception {
        Transform t = transform();
        byte[] enc = encode(t, new byte[5000], BINDING);
        ObjectBinding elsewhere = new ObjectBinding(BINDING.scope(), "backups/x/other");
        assertThatThrownBy(() -> decode(t, enc, elsewhere)).isInstanceOf(IOException.class);
    }

    @Test
    void decode_ofACiphertextOf34Segments_returnsThePlaintext() throws Exception {
        AeadTransform t = AeadTransform.withKey(KEY);
        byte[] plain = new byte[(33 << 20) + 1];
        new Random(6).nextBytes(plain);
        byte[] enc = encode(t, plain, BINDING);

        try (InputStream in = t.decode(new ByteArrayInputStream(enc), BINDING)) {
            assertThat(in.readAllBytes()).isEqualTo(plain);
        }
    }

    @Test
    void decode_ofACiphertextOf34Segments_withAFlippedByteInTheMiddle_fails() throws Exception {
        AeadTransform t = AeadTransform.withKey(KEY);
        byte[] enc = encode(t, new byte[(33 << 20) + 1], BINDING);
        enc[enc.length / 2] ^= 0x01;

        assertThatThrownBy(() -> {
            try (InputStream in = t.decode(new ByteArrayInputStream(enc), BINDING)) {
                in.readAllBytes();
            }
        }).isInstanceOf(IOException.class);
    }
}
