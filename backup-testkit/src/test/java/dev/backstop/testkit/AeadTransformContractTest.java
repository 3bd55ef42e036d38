package dev.backstop.testkit;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.ObjectBinding;
import dev.backstop.core.Transform;
import dev.backstop.core.crypto.AeadTransform;
import dev.backstop.testkit.contract.TransformContract;
import java.io.IOException;
import java.util.Arrays;
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
}
