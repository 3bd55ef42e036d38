package dev.backstop.core.internal.crypto;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A JSON document sealed by a metadata key, split into what was authenticated and its tag.
 *
 * @param content the document as it was before sealing
 * @param tag the {@code hmac-sha256:<key id>:<mac>} tag
 */
public record Sealed(byte[] content, String tag) {
    /** The member a sealed document ends with, up to the tag. */
    public static final String LEAD = ",\n  \"authentication\" : \"hmac-sha256:";
    private static final Pattern TRAILER =
            Pattern.compile(Pattern.quote(LEAD) + "([0-9a-f]{1,64}):([0-9a-f]{64})\"\n}\n?\\z");

    /** Splits a sealed document; null if it carries no {@code authentication} member. */
    public static Sealed unseal(byte[] stored) {
        String text = new String(stored, StandardCharsets.UTF_8);
        Matcher m = TRAILER.matcher(text);
        if (!m.find()) {
            return null;
        }
        return new Sealed((text.substring(0, m.start()) + "\n}\n").getBytes(StandardCharsets.UTF_8),
                "hmac-sha256:" + m.group(1) + ":" + m.group(2));
    }
}
