package dev.backstop.s3;

/**
 * The checksum every part (and every single PUT) carries, which S3 recomputes and checks before
 * it accepts the bytes. Either way the manifest holds the whole object's SHA-256, which restores
 * and replicas are verified against; this only decides how bytes damaged on their way to S3 are
 * caught.
 */
public enum PartChecksum {
    /** SHA-256 (the default): a cryptographic digest per part; costs a SHA-256 pass on both ends. */
    SHA256,
    /**
     * CRC-32C: catches transmission damage as well for a fraction of the CPU (the JDK computes it
     * with a CPU instruction). Recognising a retried write that already landed then rests on a
     * 32-bit checksum instead of a 256-bit one.
     */
    CRC32C
}
