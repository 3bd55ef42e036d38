package dev.backstop.testkit;

import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.testkit.contract.KeyEncryptionKeyContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;

class LocalKeysetKekContractTest extends KeyEncryptionKeyContract {
    @TempDir
    Path dir;

    @Override
    protected KeyEncryptionKey newKek() {
        return LocalKeysetKek.create(dir.resolve("kek.json"));
    }

    @Override
    protected KeyEncryptionKey newOtherKek() {
        return LocalKeysetKek.create(dir.resolve("other.json"));
    }

    /** The base64 key values inside the keyset file. */
    @Override
    protected Collection<String> secrets() throws Exception {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("\"value\"\\s*:\\s*\"([^\"]+)\"").matcher(Files.readString(dir.resolve("kek.json")));
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }
}
