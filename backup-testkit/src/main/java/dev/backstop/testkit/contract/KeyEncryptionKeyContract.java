package dev.backstop.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.crypto.KeyEncryptionKey;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Collection;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link KeyEncryptionKey} must have. Extend it with a key and an unrelated
 * second key of the same implementation, and name the secrets its {@code toString()} must hide.
 */
public abstract class KeyEncryptionKeyContract {
    protected KeyEncryptionKey kek;
    protected KeyEncryptionKey otherKek;

    /** The key under test. */
    protected abstract KeyEncryptionKey newKek() throws Exception;

    /** A different key of the same implementation. */
    protected abstract KeyEncryptionKey newOtherKek() throws Exception;

    /** Strings (key material, credentials) that must never appear in {@code toString()}. */
    protected abstract Collection<String> secrets() throws Exception;

    @BeforeEach
    void createKeys() throws Exception {
        kek = newKek();
        otherKek = newOtherKek();
    }

    private static byte[] dataKey(int size, long seed) {
        byte[] k = new byte[size];
        new Random(seed).nextBytes(k);
        return k;
    }

    private static byte[] context(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void wrapThenUnwrap_withTheSameContext_returnsTheDataKey() throws Exception {
        for (int size : new int[] {16, 32, 64}) {
            byte[] key = dataKey(size, size);
            byte[] wrapped = kek.wrap(key, context("backup 20261121T031500Z-full-abc"));
            assertThat(wrapped).isNotEqualTo(key);
            assertThat(kek.unwrap(wrapped, context("backup 20261121T031500Z-full-abc"))).isEqualTo(key);
        }
    }

    @Test
    void wrappingTwice_givesDifferentCiphertexts() throws Exception {
        byte[] key = dataKey(32, 1);
        assertThat(kek.wrap(key, context("c"))).isNotEqualTo(kek.wrap(key, context("c")));
    }

    @Test
    void unwrap_withAnotherContext_fails() throws Exception {
        byte[] wrapped = kek.wrap(dataKey(32, 2), context("backup A"));
        assertThatThrownBy(() -> kek.unwrap(wrapped, context("backup B"))).isInstanceOf(GeneralSecurityException.class);
    }

    @Test
    void unwrap_byAnotherKey_fails() throws Exception {
        byte[] wrapped = kek.wrap(dataKey(32, 3), context("backup A"));
        assertThatThrownBy(() -> otherKek.unwrap(wrapped, context("backup A"))).isInstanceOf(GeneralSecurityException.class);
        assertThat(otherKek.id()).isNotEqualTo(kek.id());
    }

    @Test
    void unwrap_ofATamperedWrappedKey_fails() throws Exception {
        byte[] wrapped = kek.wrap(dataKey(32, 4), context("backup A"));
        wrapped[wrapped.length - 1] ^= 1;
        assertThatThrownBy(() -> kek.unwrap(wrapped, context("backup A"))).isInstanceOf(GeneralSecurityException.class);
    }

    @Test
    void toString_showsNoSecret() throws Exception {
        String s = kek.toString();
        for (String secret : secrets()) {
            assertThat(s).doesNotContain(secret);
        }
        assertThat(kek.id()).isNotBlank();
    }
}
