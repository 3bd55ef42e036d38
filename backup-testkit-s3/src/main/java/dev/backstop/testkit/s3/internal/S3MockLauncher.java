package dev.backstop.testkit.s3.internal;

import dev.backstop.core.internal.concurrent.DaemonThreads;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;

/**
 * Main class of the S3Mock child process that {@code LocalS3} starts; not API. It runs S3Mock's
 * executable jar (on the class path next to this class) as {@code java -jar} would, and exits
 * when its standard input ends. The parent holds that pipe open and never writes to it, so the
 * child ends with the test JVM however that ends, even killed with {@code SIGKILL}, when no
 * shutdown hook runs.
 *
 * <p>It is the one {@code main} in a library module because it is not a program for users: it is the
 * entry point of the child process {@code S3MockProcess} starts, so it must ship in the same jar.
 */
public final class S3MockLauncher {
    private S3MockLauncher() {
    }

    public static void main(String[] args) throws Throwable {
        // newThread, not start: start carries the SLF4J log context, and SLF4J is inside the exec jar,
        // not on this process's class path until Spring Boot's launcher runs
        DaemonThreads.named("parent-watch").newThread(S3MockLauncher::exitWhenParentGoes).start();
        try {
            // Spring Boot's launcher finds its archive from its own class's location: the exec jar
            Class.forName("org.springframework.boot.loader.launch.JarLauncher")
                    .getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static void exitWhenParentGoes() {
        try (InputStream in = System.in) {
            byte[] buf = new byte[256];
            while (in.read(buf) >= 0) {
                // the parent never writes; anything read is ignored
            }
        } catch (IOException e) {
            // a broken pipe means the same as end of input
        }
        System.exit(0);
    }
}
