package dev.backstop.core;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The catalog of a {@link Repository}: the manifests stored in its sink. */
final class SinkCatalog implements Catalog {
    private final Repository repo;

    SinkCatalog(Repository repo) {
        this.repo = repo;
    }

    @Override
    public void put(Manifest manifest) throws IOException {
        repo.putSmall(Repository.manifestKey(manifest.id()), ObjectKind.MANIFEST, ManifestFormat.write(manifest));
    }

    @Override
    public List<Manifest> list() throws IOException {
        List<Manifest> out = new ArrayList<>();
        for (ObjectInfo o : repo.sink().list(Repository.BACKUPS)) {
            if (o.key().endsWith("/" + Repository.MANIFEST)) {
                out.add(ManifestFormat.read(repo.readSmall(o.key()), o.key()));
            }
        }
        out.sort((a, b) -> a.id().compareTo(b.id()));
        return out;
    }

    @Override
    public Optional<Manifest> get(BackupId id) throws IOException {
        String key = Repository.manifestKey(id);
        try {
            return Optional.of(ManifestFormat.read(repo.readSmall(key), key));
        } catch (IOException e) {
            if (Repository.isMissing(e)) {
                return Optional.empty();
            }
            throw e;
        }
    }

    @Override
    public void delete(BackupId id) throws IOException {
        repo.sink().delete(Repository.manifestKey(id));
        for (ObjectInfo o : repo.sink().list(Repository.BACKUPS + id.value() + "/")) {
            repo.sink().delete(o.key());
        }
        repo.sink().delete(Repository.dataKeyObject(id));
    }
}
