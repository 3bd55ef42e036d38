package dev.backstop.testkit;

import dev.backstop.core.Sink;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.testkit.contract.SinkContract;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class FileSystemSinkContractTest extends SinkContract {
    @TempDir
    Path dir;

    @Override
    protected Sink newSink() {
        return FileSystemSink.open(dir.resolve("repo"));
    }
}
