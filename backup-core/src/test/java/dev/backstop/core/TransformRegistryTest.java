package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.crypto.AeadTransform;
import dev.backstop.core.transform.ZstdTransform;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TransformRegistryTest {
    private static final ObjectBinding BINDING = new ObjectBinding("wal/42", "wal/42/000000010000000000000001");

    @Test
    void builtIns_resolveZstdFromItsSpec_andAeadFromTheContextsDataKey() {
        AeadTransform key = AeadTransform.withKey(new byte[32]);
        Transform.Context context = Transform.Context.of(BINDING, () -> key);

        List<Transform> resolved = TransformRegistry.builtIns().resolveAll(
                List.of(ZstdTransform.level(7).spec(), key.spec()), context);

        assertThat(resolved.get(0).spec()).isEqualTo(ZstdTransform.level(7).spec());
        assertThat(resolved.get(1)).isSameAs(key);
        assertThat(TransformRegistry.builtIns().kind("zstd")).isEqualTo(TransformRegistry.Kind.COMPRESSION);
        assertThat(TransformRegistry.builtIns().kind("aead")).isEqualTo(TransformRegistry.Kind.ENCRYPTION);
        assertThat(TransformRegistry.builtIns().kind("xor")).isEqualTo(TransformRegistry.Kind.OTHER);
    }

    @Test
    void resolve_unknownId_namesTheObjectAndTheId() {
        assertThatThrownBy(() -> TransformRegistry.builtIns().resolve(new TransformSpec("rot13", Map.of()),
                Transform.Context.withoutKeys(BINDING)))
                .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.stage()).isEqualTo(Stage.TRANSFORM))
                .hasMessageContaining(BINDING.objectKey()).hasMessageContaining("'rot13'");
    }

    @Test
    void resolve_aeadWithoutKeys_failsAtTheKeyStageNamingTheObject() {
        assertThatThrownBy(() -> TransformRegistry.builtIns().resolve(AeadTransform.withKey(new byte[32]).spec(),
                Transform.Context.withoutKeys(BINDING)))
                .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.stage()).isEqualTo(Stage.KEY))
                .hasMessageContaining(BINDING.objectKey());
    }

    @Test
    void resolve_specItsFactoryRefuses_namesTheObjectTheIdAndTheParameter() {
        assertThatThrownBy(() -> TransformRegistry.builtIns().resolve(new TransformSpec("zstd", Map.of()),
                Transform.Context.withoutKeys(BINDING)))
                .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.stage()).isEqualTo(Stage.TRANSFORM))
                .hasMessageContaining(BINDING.objectKey()).hasMessageContaining("'zstd'").hasMessageContaining("level");
    }

    @Test
    void register_sameIdTwice_isRefusedNamingIt() {
        TransformRegistry.Builder b = TransformRegistry.builder().register("xor", XorTransform.FACTORY);

        assertThatThrownBy(() -> b.register("xor", XorTransform.FACTORY))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("'xor'");
        assertThatThrownBy(() -> b.register("aead", XorTransform.FACTORY))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("'aead'").hasMessageContaining("built in");
    }

    @Test
    void replaceBuiltIn_keepsItsKind_andIsAllowedOnce() {
        TransformRegistry.Builder b = TransformRegistry.builder().replaceBuiltIn("zstd", (spec, context) -> new XorTransform(1));

        TransformRegistry r = b.build();

        assertThat(r.kind("zstd")).isEqualTo(TransformRegistry.Kind.COMPRESSION);
        assertThat(r.resolve(ZstdTransform.level(3).spec(), Transform.Context.withoutKeys(BINDING))).isInstanceOf(XorTransform.class);
        assertThatThrownBy(() -> b.replaceBuiltIn("zstd", XorTransform.FACTORY))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("'zstd'");
    }

    @Test
    void toBuilder_addsToARegistryWithoutChangingIt() {
        TransformRegistry base = TransformRegistry.builtIns();

        TransformRegistry more = base.toBuilder().register("xor", XorTransform.FACTORY).build();

        assertThat(more.ids()).containsExactly("zstd", "aead", "xor");
        assertThat(base.ids()).containsExactly("zstd", "aead");
    }
}
