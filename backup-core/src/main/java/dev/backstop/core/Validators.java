package dev.backstop.core;

/** The validators that need no database: stored checksums (keyless) and a full decode. */
public final class Validators {
    private Validators() {
    }

    /** Reads every stored object and compares size and SHA-256 with the manifest; needs no keys. */
    public static Validator storedChecksums() {
        return new Validator() {
            @Override
            public String name() {
                return "stored-checksums";
            }

            @Override
            public ValidationResult validate(Manifest manifest, Restore restore) {
                return restore.verifyStored(manifest);
            }
        };
    }

    /** Decodes every object: stored digest, AEAD authentication, decompression, plaintext digest. */
    public static Validator fullDecode() {
        return new Validator() {
            @Override
            public String name() {
                return "full-decode";
            }

            @Override
            public ValidationResult validate(Manifest manifest, Restore restore) {
                // whoever runs a validator records its result (the scheduler does): not twice
                return restore.verify(manifest, Restore.Recording.NONE);
            }
        };
    }
}
