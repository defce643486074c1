// A real Neo4j 5 (Community) server for integration tests, run in-process through the official
// test harness (org.neo4j.test:neo4j-harness). Started by scripts/services.sh with Java's
// single-file source mode:
//
//     java -Xmx1g -cp '<cache>/neo4j-<version>/lib/*' scripts/services/neo4j/Launcher.java
//
// Configuration, all from the environment (services.sh sets them):
//   QTRACE_SERVICES_NEO4J_PORT       Bolt port on 127.0.0.1                 (default 7687)
//   QTRACE_SERVICES_NEO4J_PASSWORD   password of user "neo4j", >= 8 chars   (default qtrace-test-password)
//   QTRACE_SERVICES_NEO4J_HOME       home directory: data/, logs/, harness/ (default ./neo4j-home)
//   QTRACE_SERVICES_NEO4J_HTTP_PORT  HTTP connector port on 127.0.0.1; empty or 0 = HTTP disabled
//   QTRACE_SERVICES_NEO4J_PAGECACHE  page cache size in MiB                 (default 128)
//
// Persistence: the harness always creates a random (MD5-named) folder under its working directory
// as neo4j_home and deletes that folder on close(). Here the working directory is <home>/harness,
// and neo4j_home and the data directory are then pointed at <home> and <home>/data, so the random
// folder holds only the harness's user log and self-signed certificates (deleted on a clean stop;
// stale ones from a killed run are removed at the next start), while the databases, including the
// system database that stores the neo4j user's password, live in <home>/data and survive a
// stop/start cycle. Delete <home>/data (services.sh reset neo4j) for a fresh, empty server.
//
// Authentication: the harness turns auth off; it is turned back on here. On every start the
// password of "neo4j" is set through the system database (embedded access bypasses auth), so the
// configured password is always the one that works, and "must change password" is cleared. Failed
// logins never lock the account (auth_max_failed_attempts=0), so tests that deliberately send a
// wrong password cannot lock out the tests that follow them.
//
// Lifecycle: prints "QTRACE-NEO4J-READY bolt://127.0.0.1:<port>" once Bolt is up and the password
// is set, then runs until killed. SIGTERM/SIGINT run the shutdown hook, which closes the database
// cleanly (checkpoint, store files flushed) and prints "QTRACE-NEO4J-STOPPED".

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilder;
import org.neo4j.harness.Neo4jBuilders;

public class Launcher {
    static final String HOST = "127.0.0.1";

    static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value.trim();
    }

    static void log(String message) {
        System.out.println("[" + Instant.now() + "] " + message);
        System.out.flush();
    }

    static int port(String name, String fallback) {
        String raw = env(name, fallback);
        try {
            int port = Integer.parseInt(raw);
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            return port;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a port number, got '" + raw + "'");
        }
    }

    /** Remove MD5-named folders left under the harness directory by a run that was killed. */
    static void removeStaleHarnessFolders(Path harnessDir) throws IOException {
        if (!Files.isDirectory(harnessDir)) {
            return;
        }
        try (Stream<Path> children = Files.list(harnessDir)) {
            for (Path child : (Iterable<Path>) children::iterator) {
                if (Files.isDirectory(child) && child.getFileName().toString().matches("[0-9a-f]{32}")) {
                    try (Stream<Path> walk = Files.walk(child)) {
                        walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                    }
                }
            }
        }
    }

    public static void main(String[] args) throws Exception {
        int boltPort = port("QTRACE_SERVICES_NEO4J_PORT", "7687");
        int httpPort = port("QTRACE_SERVICES_NEO4J_HTTP_PORT", "0");
        String password = env("QTRACE_SERVICES_NEO4J_PASSWORD", "qtrace-test-password");
        long pageCacheMiB = Long.parseLong(env("QTRACE_SERVICES_NEO4J_PAGECACHE", "128"));
        Path home = Path.of(env("QTRACE_SERVICES_NEO4J_HOME", "neo4j-home")).toAbsolutePath();
        if (password.length() < 8) {
            throw new IllegalArgumentException("Neo4j 5 needs a password of at least 8 characters");
        }

        Path harnessDir = home.resolve("harness");
        Path dataDir = home.resolve("data");
        Files.createDirectories(harnessDir);
        Files.createDirectories(dataDir);
        Files.createDirectories(home.resolve("logs"));
        removeStaleHarnessFolders(harnessDir);

        log("starting Neo4j (harness) home=" + home + " bolt=" + HOST + ":" + boltPort
                + (httpPort > 0 ? " http=" + HOST + ":" + httpPort : " http=disabled"));

        Neo4jBuilder builder = Neo4jBuilders.newInProcessBuilder(harnessDir)
                .withConfig(GraphDatabaseSettings.neo4j_home, home)
                .withConfig(GraphDatabaseSettings.data_directory, dataDir)
                .withConfig(GraphDatabaseSettings.logs_directory, home.resolve("logs"))
                .withConfig(GraphDatabaseSettings.auth_enabled, true)
                .withConfig(GraphDatabaseSettings.auth_max_failed_attempts, 0)
                .withConfig(GraphDatabaseSettings.pagecache_memory, pageCacheMiB * 1024L * 1024L)
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, new SocketAddress(HOST, boltPort))
                .withConfig(BoltConnector.advertised_address, new SocketAddress(HOST, boltPort))
                // Bolt waits 5 s twice on shutdown by default (for connections, then for its
                // threads); a test server need not, so a stop takes ~3 s instead of ~13 s.
                .withConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
                .withConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofSeconds(1));
        if (httpPort > 0) {
            builder = builder
                    .withConfig(HttpConnector.enabled, true)
                    .withConfig(HttpConnector.listen_address, new SocketAddress(HOST, httpPort))
                    .withConfig(HttpConnector.advertised_address, new SocketAddress(HOST, httpPort));
        } else {
            builder = builder.withDisabledServer();
        }

        final Neo4j neo4j = builder.build();
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log("signal received, shutting Neo4j down");
            try {
                neo4j.close();
                log("QTRACE-NEO4J-STOPPED");
            } catch (RuntimeException e) {
                log("error while shutting down: " + e);
            } finally {
                stopped.countDown();
            }
        }, "qtrace-neo4j-shutdown"));

        setPassword(neo4j, password);

        String bolt = "bolt://" + HOST + ":" + boltPort;
        log("bolt URI reported by the harness: " + neo4j.boltURI());
        if (httpPort > 0) {
            log("http URI reported by the harness: " + neo4j.httpURI());
        }
        log("QTRACE-NEO4J-READY " + bolt);
        stopped.await();
    }

    static void setPassword(Neo4j neo4j, String password) {
        var system = neo4j.databaseManagementService().database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        try {
            system.executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
            log("password of user neo4j set");
        } catch (RuntimeException e) {
            // Neo4j refuses to "change" a password to the one it already has; that is the
            // normal case on a restart with an existing data directory.
            String message = String.valueOf(e.getMessage());
            if (message.contains("cannot be the same")) {
                log("password of user neo4j already set");
            } else {
                throw e;
            }
        }
    }
}
