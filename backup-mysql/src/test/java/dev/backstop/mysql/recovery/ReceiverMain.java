package dev.backstop.mysql.recovery;

import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.binlog.BinlogArchive;
import dev.backstop.mysql.binlog.BinlogReceiver;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * A binlog receiver in a JVM of its own, for a test to kill with SIGKILL. Arguments: port, user,
 * repository root, keyset file, spool directory, archive server UUID, server id; the password
 * comes in the environment ({@code RECEIVER_PASSWORD}), not on a command line others can read.
 */
public final class ReceiverMain {
    private ReceiverMain() {
    }

    public static void main(String[] args) throws Exception {
        MariaDbEndpoint endpoint = MariaDbEndpoint.of("127.0.0.1", Integer.parseInt(args[0]), args[1], System.getenv("RECEIVER_PASSWORD"));
        BinlogArchive archive = BinlogArchive.builder(Repository.filesystem(Path.of(args[2])), args[5], Long.parseLong(args[6]))
                .keys(LocalKeysetKek.load(Path.of(args[3]))).build();
        BinlogReceiver receiver = BinlogReceiver.builder(endpoint, archive, Path.of(args[4])).build();
        receiver.start();
        System.out.println("RECEIVING");
        System.out.flush();
        // runs until the test kills this JVM; never closed, as a killed process never closes anything
        new CountDownLatch(1).await();
    }
}
