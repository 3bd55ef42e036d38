package dev.backstop.postgres.physical;

import dev.backstop.postgres.wal.WalSpool;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The archive_command of {@link Archiving}'s server: queues {@code %p} as {@code %f} in a
 * {@link WalSpool}, as {@code backstop wal archive-push} does with a spool and an external drainer.
 * Exit 0 once queued; PostgreSQL retries on any other code.
 */
final class SpoolPush {
    private SpoolPush() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            System.err.println("usage: SpoolPush <spool directory> %p %f");
            System.exit(2);
        }
        WalSpool.at(Path.of(args[0])).enqueue(Path.of(args[1]), args[2]);
    }
}
