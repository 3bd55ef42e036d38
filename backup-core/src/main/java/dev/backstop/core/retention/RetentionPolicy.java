package dev.backstop.core.retention;

/** Placeholder: the retention issue defines this interface. */
public interface RetentionPolicy {
}
