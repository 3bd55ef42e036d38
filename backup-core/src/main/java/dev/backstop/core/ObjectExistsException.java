package dev.backstop.core;

import java.nio.file.FileAlreadyExistsException;

/** A commit refused because an immutable object is already published under the key. */
public final class ObjectExistsException extends FileAlreadyExistsException {
    private static final long serialVersionUID = 1L;

    public ObjectExistsException(String key) {
        super(key, null, "an object is already published under this key and objects of its kind are immutable");
    }
}
