package dev.backstop.core;

/**
 * A storage tier, from fastest and dearest to slowest and cheapest. Sinks map tiers to their own
 * classes (S3: STANDARD, STANDARD_IA, GLACIER_IR, DEEP_ARCHIVE); a filesystem has only {@link #HOT}.
 */
public enum StorageTier {
    HOT, WARM, COLD, ARCHIVE
}
