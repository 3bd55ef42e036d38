package dev.backstop.testkit;

import dev.backstop.core.Repository;
import dev.backstop.testkit.contract.CatalogContract;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class FileSystemCatalogContractTest extends CatalogContract {
    @TempDir
    Path dir;

    @Override
    protected Repository newRepository() {
        return Repository.filesystem(dir.resolve("repo"));
    }
}
