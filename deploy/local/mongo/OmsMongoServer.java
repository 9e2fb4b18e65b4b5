import java.io.File;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * Local MongoDB wire-protocol server for the OMS dev/test stack (mongo-java-server, H2 MVStore file backend).
 *
 * Usage: java -cp 'lib/*:classes' OmsMongoServer [host] [port] [data-file]
 *   host      default $OMS_MONGO_BIND_HOST or 127.0.0.1
 *   port      default $OMS_MONGO_PORT or 27018
 *   data-file default $OMS_MONGO_DATA_FILE or ./oms.mv   (H2 MVStore file; created if missing)
 * Optional env: OMS_MONGO_REPORTED_VERSION (default 4.4.0), OMS_MONGO_WIRE_VERSION (default 9),
 *               OMS_MONGO_OPLOG (default 0; 1 enables the oplog that change streams need. Off by default:
 *               in 1.47.0 it is an uncapped collection local.oplog.rs that gets one extra document per
 *               write and grows the MVStore file without bound; OMS services poll outboxes instead).
 *
 * Why a reported version of our own:
 *   mongo-java-server 1.47.0 chooses the version reported in isMaster/buildInfo through
 *   MongoBackend.version(MongoVersion); its built-in enum ServerVersion only offers
 *   MONGO_3_6 (wire 6), MONGO_4_0 (wire 7) and MONGO_5_0 (wire 8, the default; note that real
 *   MongoDB 5.0 is wire 13). PyMongo 4.20 has MIN_SUPPORTED_WIRE_VERSION = 9 (MongoDB 4.4) and
 *   refuses every server reporting less ("reports wire version 8, but this version of PyMongo
 *   requires at least 9"). MongoVersion is a public interface, so we pass our own implementation
 *   (4.4.0 / wire 9) - no subclassing or patching of the server is needed. We report the LOWEST
 *   version PyMongo accepts so that the driver does not assume newer server features.
 *   This only changes what the server *says*; what it implements is unchanged.
 *
 * Why collections of our own (IdFirstCollection):
 *   mongo-java-server 1.47.0 uses an index only when the filter's keys are exactly the index's keys
 *   (AbstractUniqueIndex.canHandle). Every optimistic-concurrency update filters on
 *   {_id, shop_id, version}, so each one scanned the whole collection - tens of milliseconds per
 *   write at 20k documents, most of the stand-in's CPU per order. Real MongoDB answers such a filter
 *   from the _id index. IdFirstCollection does the same: when a filter has an equality (or $in) on
 *   _id beside other fields, it takes the candidates from the _id index and matches the whole filter
 *   on them. Same results, same single-document atomicity (the collection is still synchronised);
 *   only the plan changes. Written against 1.47.0's H2Database/H2Collection (map names "databases."
 *   and "meta." as in H2Database); revisit on an upgrade.
 *
 * Why results are deep copies (same collection class):
 *   an update in 1.47.0 changes the stored Document object in place, key by key
 *   (AbstractMongoCollection.updateDocument), and a query or findAndModify result holds references to
 *   stored Documents that are encoded for the client after the collection's lock is released. A
 *   concurrent update could then show through half-applied: the stock test saw a document whose
 *   ledger_pending list already held a later change while its on_hand/reserved were still older (a
 *   torn read MongoDB never gives). Copying the matched documents while the lock is held makes every
 *   answer a snapshot; an update then writes its (copied) document back as the new stored value.
 */
public final class OmsMongoServer {

    private OmsMongoServer() {
    }

    private static String arg(String[] args, int i, String envName, String dflt) {
        if (args.length > i && !args[i].isEmpty()) {
            return args[i];
        }
        String v = System.getenv(envName);
        return (v == null || v.isEmpty()) ? dflt : v;
    }

    public static void main(String[] args) throws Exception {
        String host = arg(args, 0, "OMS_MONGO_BIND_HOST", "127.0.0.1");
        int port = Integer.parseInt(arg(args, 1, "OMS_MONGO_PORT", "27018"));
        String file = arg(args, 2, "OMS_MONGO_DATA_FILE", "oms.mv");
        String reported = arg(new String[0], 0, "OMS_MONGO_REPORTED_VERSION", "4.4.0");
        int wire = Integer.parseInt(arg(new String[0], 0, "OMS_MONGO_WIRE_VERSION", "9"));
        boolean oplog = "1".equals(arg(new String[0], 0, "OMS_MONGO_OPLOG", "0"));

        File parent = new File(file).getAbsoluteFile().getParentFile();
        if (parent != null) {
            parent.mkdirs();
        }

        List<Integer> versionArray = new java.util.ArrayList<>();
        for (String part : reported.split("\\.")) {
            versionArray.add(Integer.valueOf(part));
        }
        while (versionArray.size() < 4) {
            versionArray.add(0); // real servers report a 4-element versionArray
        }
        final List<Integer> va = List.copyOf(versionArray);
        MongoVersion version = new MongoVersion() {
            @Override
            public List<Integer> getVersionArray() {
                return va;
            }

            @Override
            public String toVersionString() {
                return reported;
            }

            @Override
            public int getWireVersion() {
                return wire;
            }
        };

        H2Backend backend = new IdFirstH2Backend(file);
        backend.version(version);
        MongoServer server = new MongoServer(backend);
        if (oplog) {
            server.enableOplog();
        }

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("OmsMongoServer: shutting down (closing MVStore " + file + ")");
            try {
                // closes client connections, the backend and the MVStore (which commits pending writes)
                server.shutdownNow();
            } finally {
                stopped.countDown();
                System.err.println("OmsMongoServer: stopped");
            }
        }, "oms-mongo-shutdown"));

        server.bind(host, port);
        System.err.println("OmsMongoServer: listening on " + host + ":" + port + " file=" + file
            + " reports MongoDB " + reported + " (wire " + wire + ") oplog=" + oplog);
        stopped.await();
    }

    /** H2 backend whose databases open IdFirstCollections. */
    static final class IdFirstH2Backend extends H2Backend {
        IdFirstH2Backend(String file) {
            super(file);
        }

        @Override
        protected MongoDatabase openOrCreateDatabase(String databaseName) {
            return new IdFirstH2Database(databaseName, getMvStore(), getCursorRegistry());
        }
    }

    static final class IdFirstH2Database extends H2Database {
        // Static, not an instance field: H2Database's constructor already opens the existing
        // collections (calling openOrCreateCollection) before a subclass field could be set.
        // One backend, so one MVStore, per process.
        private static volatile MVStore store;

        IdFirstH2Database(String databaseName, MVStore mvStore, CursorRegistry cursorRegistry) {
            super(databaseName, remember(mvStore), cursorRegistry);
        }

        private static MVStore remember(MVStore mvStore) {
            store = mvStore;
            return mvStore;
        }

        @Override
        protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
            String fullName = getFullCollectionNamespace(collectionName);
            MVMap<Object, Document> dataMap = store.openMap("databases." + fullName);
            MVMap<String, Object> metaMap = store.openMap("meta." + fullName);
            return new IdFirstCollection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
        }
    }

    static final class IdFirstCollection extends H2Collection {
        IdFirstCollection(MongoDatabase database, String collectionName, CollectionOptions options,
                          MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap, CursorRegistry cursorRegistry) {
            super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                             int batchSize, Document fieldSelector) {
            Object id = query.get("_id");
            if (query.size() > 1 && id != null && isIdLookup(id)) {
                Document byId = new Document("_id", id);
                for (Index<Object> index : getIndexes()) {
                    if (index.canHandle(byId)) {
                        // candidates from the _id index; the whole filter still decides
                        return matchDocuments(query, index.getPositions(byId), orderBy, numberToSkip, limit,
                            batchSize, fieldSelector);
                    }
                }
            }
            return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }

        @Override
        protected QueryResult createQueryResult(List<Document> matchedDocuments, int batchSize) {
            List<Document> snapshots = new java.util.ArrayList<>(matchedDocuments.size());
            for (Document document : matchedDocuments) {
                snapshots.add(document.cloneDeeply());
            }
            return super.createQueryResult(snapshots, batchSize);
        }

        /** A plain value, or {$in: [...]} alone: what the _id index can answer. */
        private static boolean isIdLookup(Object id) {
            if (id instanceof Document doc) {
                return doc.size() == 1 && doc.containsKey("$in");
            }
            return !(id instanceof java.util.regex.Pattern);
        }
    }
}
