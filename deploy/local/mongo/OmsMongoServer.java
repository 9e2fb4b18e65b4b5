import java.io.File;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.LongAdder;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.AbstractUniqueIndex;
import de.bwaldvogel.mongo.backend.ArrayFilters;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.backend.OmsSharedUpdates;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;
import org.h2.mvstore.type.ObjectDataType;

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
 *               write and grows the MVStore file without bound; OMS services poll outboxes instead),
 *               OMS_MONGO_SECONDARY_INDEXES (default 1; 0 ignores non-unique indexes as 1.47.0 itself does),
 *               OMS_MONGO_MEMORY_UNIQUE_INDEXES (default 1; 0 keeps unique indexes in MVStore maps as 1.47.0 does),
 *               OMS_MONGO_BSON_DOCUMENTS (default 1; 0 stores documents Java-serialised as 1.47.0 does),
 *               OMS_MONGO_SHARED_UPDATES (default 1; 0 updates through 1.47.0's deep copies),
 *               OMS_MONGO_VERSIONS_KEPT (default 0; old map versions H2 keeps in memory; its default is 5),
 *               OMS_MONGO_WIRE_CODEC (default 1; 0 decodes and encodes with 1.47.0's BSON codec: OmsWire),
 *               OMS_MONGO_CHEAP_COMPARE (default 1; 0 counts nModified with 1.47.0's normalised copies),
 *               OMS_MONGO_PLAIN_PATHS (default 1; 0 applies every $set/$inc/$push through 1.47.0's FieldUpdates),
 *               OMS_MONGO_MATCH_LOOP (default 1; 0 matches queries through 1.47.0's stream),
 *               OMS_MONGO_SUB_KEYS (default 1; 0 reads the keys of an index on one "top.sub" key with 1.47.0's
 *               Index.getKeyValues),
 *               OMS_MONGO_UPSERT_INSERTS (default 1; 0 runs an upsert that inserts through 1.47.0's updateDocuments,
 *               which queries again before it inserts),
 *               OMS_MONGO_COMPACT_FILL_RATE (default 50; H2 rewrites old chunks' live pages when the file is
 *               less than this % live; H2's default is 90),
 *               OMS_MONGO_WORKER_THREADS (default 1; netty event-loop threads serving the connections),
 *               OMS_MONGO_CACHE_MB (default 256; the MVStore page cache, in heap bytes of decoded documents;
 *               1.47.0 leaves H2's 16, counted at about a sixth of that).
 *               The "0"s (and VERSIONS_KEPT=5) are there for before/after measurements, not for use.
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
 * Why unique indexes in memory and documents as BSON (see MemoryUniqueIndex, BsonDocumentType):
 *   a Java Flight Recorder profile under load showed half of the stand-in's CPU in H2's ObjectDataType
 *   Java-serialising objects: index keys (KeyValue) on every comparison of every unique-index lookup,
 *   and whole Documents on every page a commit writes. Durability is unchanged: the data maps are
 *   committed as before (in the background once a second), and the indexes are derived from them.
 *
 * Why results are deep copies (same collection class):
 *   an update in 1.47.0 changes the stored Document object in place, key by key
 *   (AbstractMongoCollection.updateDocument), and a query or findAndModify result holds references to
 *   stored Documents that are encoded for the client after the collection's lock is released. A
 *   concurrent update could then show through half-applied: the stock test saw a document whose
 *   ledger_pending list already held a later change while its on_hand/reserved were still older (a
 *   torn read MongoDB never gives). Copying the matched documents while the lock is held makes every
 *   answer a snapshot; an update then writes its (copied) document back as the new stored value.
 *   Since that is the only code that changes a document, a stored Document is never changed after it
 *   is stored, so a plain read (find, count, distinct) needs no copy of its own: it hands out the stored
 *   objects, which no later update touches.
 *
 * Why updates share values with the stored document (OmsSharedUpdates, beside this file):
 *   1.47.0's updateDocument deep-copies the matched document twice (its old version and the base of the
 *   new one) and compares them deeply: on the hot documents (catalog's stock, a reservation per open
 *   order) most of an update's CPU and most of what the stand-in allocated. Updates with operators now
 *   go through OmsSharedUpdates, 1.47.0's own steps and operator code applied to a new document that
 *   copies only the containers on the updated paths and shares the rest with the stored one, which stays
 *   as it was (the invariant above). Replacements, upserts that insert, removes and failing updates still
 *   take 1.47.0's way.
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

        // As MVStore.open(file), which 1.47.0's H2Backend(file) calls (a commit in the background once a
        // second), with a larger page cache: the default 16 MB held less than a bench run's documents, so
        // reads went back to the file and decoded pages again.
        // The cache's budget counts decoded documents at their real heap size (BsonDocumentType.getMemory),
        // so it is the bound of the documents held in memory; a commit is forced once unsaved pages pass
        // 19 x autoCommitBufferSize KB (H2's rule), kept near what it was in real bytes.
        // Compaction: H2 rewrites the live pages of old chunks whenever the file is less than 90 % live,
        // which re-reads (from the file, once evicted) and re-encodes documents no one changed - late in a
        // load run, half of the stand-in's samples were that background rewrite (docs/notes.md, "jvm").
        // At 50 % the file may grow to about twice its live data; what is committed is unchanged.
        int cacheMb = Integer.parseInt(arg(new String[0], 0, "OMS_MONGO_CACHE_MB", "256"));
        int compactFillRate = Integer.parseInt(arg(new String[0], 0, "OMS_MONGO_COMPACT_FILL_RATE", "50"));
        MVStore mvStore = new MVStore.Builder().fileName(file).cacheSize(cacheMb).autoCommitBufferSize(4096)
            .autoCompactFillRate(compactFillRate).open();
        // Old versions of the maps kept in memory after a commit: H2's default for a bare MVStore is 5, so the
        // pages (and the documents) an update replaced stayed reachable for about five more commits (seconds),
        // long enough to be promoted to the old generation and fill it. Nothing here reads an old version
        // (no snapshots, no rollback); H2's own database sets 0. What is committed is unchanged.
        mvStore.setVersionsToKeep(Integer.parseInt(arg(new String[0], 0, "OMS_MONGO_VERSIONS_KEPT", "0")));
        H2Backend backend = new IdFirstH2Backend(mvStore);
        backend.version(version);
        MongoServer server = new OmsWire.Server(backend);
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

        // One event-loop thread serves every connection (1.47.0 starts netty's default, twice the cores, to
        // accept and as many to serve). The collections are synchronised, so more threads mostly waited on
        // each other: futex waits and context switches were a tenth of the stand-in's CPU under load, and
        // one thread used about a sixth less CPU per order at the same latency (docs/notes.md, "standin
        // (issue 8: the stand-in's CPU per operation)"). OMS_MONGO_WORKER_THREADS gives more back.
        int workers = Integer.parseInt(arg(new String[0], 0, "OMS_MONGO_WORKER_THREADS", "1"));
        server.bind(new java.net.InetSocketAddress(host, port), 1, workers);
        System.err.println("OmsMongoServer: listening on " + host + ":" + port + " file=" + file
            + " reports MongoDB " + reported + " (wire " + wire + ") oplog=" + oplog + " workers=" + workers);
        stopped.await();
    }

    /** Updates share unchanged values with the stored document (off: 1.47.0's deep copies, for a before/after measurement). */
    static final boolean SHARED_UPDATES = !"0".equals(System.getenv("OMS_MONGO_SHARED_UPDATES"));

    /** Keys of an index on one "field.sub" read without the path split (off: 1.47.0's getKeyValues, for a before/after measurement). */
    static final boolean SUB_KEYS = !"0".equals(System.getenv("OMS_MONGO_SUB_KEYS"));

    /** Queries matched in a loop (off: 1.47.0's stream per query, for a before/after measurement). */
    static final boolean MATCH_LOOP = !"0".equals(System.getenv("OMS_MONGO_MATCH_LOOP"));

    /** Documents stored as BSON (off: as 1.47.0 stores them, Java-serialised, for a before/after measurement). */
    static final boolean BSON_DOCUMENTS = !"0".equals(System.getenv("OMS_MONGO_BSON_DOCUMENTS"));

    /**
     * How the collections' documents are written into the MVStore file: BSON, with the server's own
     * encoder and decoder (the same that answer every client), instead of H2's default ObjectDataType,
     * which Java-serialises each Document (a LinkedHashMap graph, with a fresh ObjectOutputStream and its
     * class descriptors per document). Every commit rewrites whole changed pages, so that was a large
     * part of the stand-in's CPU per write, and reading a page back the same again. A BSON document is
     * written behind a tag byte ObjectDataType never writes (it uses 0..119), so a file written by an
     * earlier launcher still opens: its Java-serialised documents are read as before and written back as
     * BSON as their pages change. (The other way round does not work: an earlier launcher cannot read a
     * page this one wrote; `deploy/local/infra.sh reset` starts afresh.)
     */
    static final class BsonDocumentType extends BasicDataType<Document> {
        private static final byte TAG = (byte) 0xB5;
        private static final ObjectDataType SERIALIZED = new ObjectDataType();
        private static final ThreadLocal<ByteBuf> SCRATCH = ThreadLocal.withInitial(() -> Unpooled.buffer(4096));
        /**
         * What a decoded Document costs on the heap, estimated by walking it: the MVStore page cache
         * evicts by these figures. 1.47.0's ObjectDataType (and this type before) answered about twice
         * the serialised size, a sixth to a tenth of the decoded objects' real size, so a "64 MB" cache
         * held 300-600 MB of documents (docs/notes.md, "jvm").
         */
        @Override
        public int getMemory(Document document) {
            return (int) Math.min(Integer.MAX_VALUE, HeapSize.of(document));
        }

        @Override
        public void write(WriteBuffer buff, Document document) {
            ByteBuf bson = SCRATCH.get().clear();
            try {
                OmsWire.encodeDocument(document, bson);
            } catch (RuntimeException e) {
                // a value BSON cannot carry (none known: every stored document is also sent to clients
                // with this encoder); a failed page write would stop the store, so keep the old format
                SERIALIZED.write(buff, document);
                return;
            }
            int size = bson.readableBytes();
            buff.put(TAG).put(bson.array(), bson.arrayOffset() + bson.readerIndex(), size);
            if (bson.capacity() > 1 << 20) {
                SCRATCH.remove(); // do not keep one rare large document's buffer
            }
        }

        @Override
        public Document read(ByteBuffer buff) {
            if (buff.get(buff.position()) != TAG) {
                return (Document) SERIALIZED.read(buff);
            }
            buff.get();
            int size = buff.order() == ByteOrder.LITTLE_ENDIAN ? buff.getInt(buff.position())
                : Integer.reverseBytes(buff.getInt(buff.position()));
            ByteBuffer slice = buff.slice();
            slice.limit(size);
            buff.position(buff.position() + size);
            return OmsWire.decodeDocument(Unpooled.wrappedBuffer(slice));
        }

        @Override
        public int compare(Document a, Document b) {
            // values are compared only by MVMap.replace/remove(key, value), which the collections do not use
            return a.equals(b) ? 0 : SERIALIZED.compare(a, b);
        }

        @Override
        public Document[] createStorage(int size) {
            return new Document[size];
        }
    }

    /**
     * Heap bytes of a decoded value (64-bit JVM, compressed references, 8-byte alignment), near enough
     * for a cache budget: what BsonDecoder builds (Document over a LinkedHashMap, ArrayList, String, boxed
     * numbers, Instant). Bounded by the document's size: one pass over its values.
     */
    static final class HeapSize {
        private HeapSize() {
        }

        private static long align(long bytes) {
            return (bytes + 7) & ~7L;
        }

        private static long string(String value) {
            return 24 + align(16 + value.length()); // Latin-1 bytes; other text counts a little short
        }

        static long of(Object value) {
            if (value == null || value instanceof Boolean) {
                return 0; // shared instances
            }
            if (value instanceof String text) {
                return string(text);
            }
            if (value instanceof Document document) {
                int size = document.size();
                int table = Math.max(16, Integer.highestOneBit(Math.max(1, size * 4 / 3)) << 1);
                long bytes = 16 + 56 + 32 + align(16 + 4L * table) + 40L * size; // map, key/entry views, entries
                for (Map.Entry<String, Object> entry : document.entrySet()) {
                    // a field name decoded into the shared table (OmsWire) costs this document nothing
                    String key = entry.getKey();
                    bytes += (OmsWire.isShared(key) ? 0 : string(key)) + of(entry.getValue());
                }
                return bytes;
            }
            if (value instanceof Collection<?> values) {
                long bytes = 24 + align(16 + 4L * Math.max(10, values.size()));
                for (Object element : values) {
                    bytes += of(element);
                }
                return bytes;
            }
            if (value instanceof Integer || value instanceof Long || value instanceof Double) {
                return 16;
            }
            if (value instanceof java.time.Instant) {
                return 24;
            }
            return 48; // ObjectId, Decimal128, BinData, a timestamp...: small fixed-size objects
        }
    }

    /** H2 backend whose databases open IdFirstCollections. */
    static final class IdFirstH2Backend extends H2Backend {
        IdFirstH2Backend(MVStore mvStore) {
            super(mvStore);
        }

        @Override
        protected MongoDatabase openOrCreateDatabase(String databaseName) {
            return new IdFirstH2Database(databaseName, getMvStore(), getCursorRegistry());
        }

        /**
         * listDatabases from the databases already open: 1.47.0's answer opens every database anew
         * (openOrCreateDatabase, not the open one), which here rebuilds every in-memory index of every
         * collection from its documents, for each call.
         */
        private Document listDatabases() {
            List<Document> databases = new ArrayList<>();
            for (String name : new java.util.TreeSet<>(listDatabaseNames())) {
                databases.add(new Document("name", name).append("empty", resolveDatabase(name).isEmpty()));
            }
            Document response = new Document("databases", databases);
            Utils.markOkay(response);
            return response;
        }

        /**
         * An aggregation whose $match stages match bounds one by one, as queries do
         * (IdFirstCollection.boundsApart): 1.47.0 matches a $match stage with its own matcher, outside
         * queryDocuments, so count_documents (an aggregation) would disagree with find on an array.
         */
        private static Document withMatchBoundsApart(Document command, List<?> stages) {
            List<Object> out = new ArrayList<>(stages.size());
            boolean changed = false;
            for (Object stage : stages) {
                Object rewritten = stage;
                if (stage instanceof Document document && document.size() == 1
                    && document.get("$match") instanceof Document filter) {
                    Document apart = IdFirstCollection.boundsApart(filter);
                    if (apart != filter) {
                        rewritten = new Document("$match", apart);
                    }
                }
                changed |= rewritten != stage;
                out.add(rewritten);
            }
            if (!changed) {
                return command;
            }
            Document copy = command.clone();
            copy.put("pipeline", out);
            return copy;
        }

        @Override
        public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
            if (command.equals(Stats.COMMAND)) {
                return Stats.report(query);
            }
            if (databaseName.equals("admin") && command.equalsIgnoreCase("listDatabases")) {
                return listDatabases();
            }
            if (command.equals("aggregate") && query.get("pipeline") instanceof List<?> stages) {
                query = withMatchBoundsApart(query, stages);
            }
            Object target = query.get(command);
            String ns = databaseName + "." + (target instanceof String name ? name : "-");
            String previous = Stats.CURRENT.get();
            Stats.CURRENT.set(command);
            long started = System.nanoTime();
            try {
                return super.handleCommand(channel, databaseName, command, query);
            } finally {
                Stats.count(command + " " + ns, 0, 0, System.nanoTime() - started);
                Stats.CURRENT.set(previous);
            }
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
            MVMap<Object, Document> dataMap = store.openMap("databases." + fullName,
                new MVMap.Builder<Object, Document>().valueType(BSON_DOCUMENTS ? new BsonDocumentType() : null));
            MVMap<String, Object> metaMap = store.openMap("meta." + fullName);
            return new IdFirstCollection(this, collectionName, options, dataMap, metaMap, cursorRegistry);
        }

        @Override
        protected Index<Object> openOrCreateUniqueIndex(String collectionName, String indexName, List<IndexKey> keys,
                                                        boolean sparse) {
            if ("0".equals(System.getenv("OMS_MONGO_MEMORY_UNIQUE_INDEXES"))) {
                return super.openOrCreateUniqueIndex(collectionName, indexName, keys, sparse);
            }
            // 1.47.0 keeps a unique index in an MVStore map whose keys (KeyValue) H2 can only compare
            // by Java-serialising both sides, on every step of every binary search: the largest single
            // cost of the stand-in under load. Held in memory instead and rebuilt from the documents at
            // open (the collection fills an empty index), so it always agrees with the committed data,
            // also after a kill -9. The map an earlier launcher kept is removed: left behind it would go
            // stale, and a launcher that still uses it rebuilds it from the data when it finds none.
            String stale = getFullCollectionNamespace(collectionName) + "._index_" + indexName;
            if (store.hasMap(stale)) {
                store.removeMap(stale);
            }
            return new MemoryUniqueIndex(indexName, keys, sparse);
        }

        @Override
        protected Index<Object> openOrCreateSecondaryIndex(String collectionName, String indexName, List<IndexKey> keys,
                                                           boolean sparse) {
            // 1.47.0 ignores every non-unique index (an EmptyIndex): held in memory, rebuilt on open
            if ("0".equals(System.getenv("OMS_MONGO_SECONDARY_INDEXES"))) {
                return super.openOrCreateSecondaryIndex(collectionName, indexName, keys, sparse);
            }
            return new PrefixIndex(indexName, keys, sparse);
        }
    }

    static final class IdFirstCollection extends H2Collection {
        private static final ThreadLocal<Integer> MATCHED = ThreadLocal.withInitial(() -> 0);
        // Commands that only read what they match (anything else, or no command, gets copies).
        private static final Set<String> READ_ONLY = Set.of("find", "count", "distinct");
        // Commands whose matched documents go only through 1.47.0's updateDocument, which deep-copies the
        // document (its "old" version) and builds the new one as another deep copy, and then only replaces
        // or removes top-level fields of the document it was handed: a copy of the top level is enough to
        // keep the stored object as it was (a third deep copy per update before, ~4 % of the CPU).
        private static final Set<String> UPDATING = Set.of("update", "findAndModify");
        // Set while OmsSharedUpdates runs an update: it changes no matched document (it stores new ones that
        // share the unchanged values), so the stored documents themselves are handed to it.
        private static final ThreadLocal<Boolean> SHARING = ThreadLocal.withInitial(() -> false);
        // Prefix lookups beside each unique compound index (which answers only its exact keys), by name;
        // built from the data at first use, then kept up to date by the write hooks below.
        private final Map<String, PrefixIndex> shadows = new ConcurrentHashMap<>();
        private int shadowed = -1;

        private final MVMap<Object, Document> data;

        IdFirstCollection(MongoDatabase database, String collectionName, CollectionOptions options,
                          MVMap<Object, Document> dataMap, MVMap<String, Object> metaMap, CursorRegistry cursorRegistry) {
            super(database, collectionName, options, dataMap, metaMap, cursorRegistry);
            this.data = dataMap;
        }

        /**
         * AbstractMongoCollection.matchDocumentsFromStream's steps - filter, sort, skip, limit, projection -
         * as a loop over the documents: the same matcher, comparator and projection in the same order
         * (without a sort, no document past skip + limit matches is read, as the stream stops there). The
         * stream built per query (a pipeline, its sinks, spliterators and a collector) was a tenth of what
         * the stand-in allocated per query, and its calls megamorphic under C1 (docs/notes.md, "standin4").
         */
        private QueryResult matchEach(Iterable<Document> documents, Document query, Document orderBy, int numberToSkip,
                                      int limit, int batchSize, Document fieldSelector) {
            Comparator<Document> comparator = deriveComparator(orderBy);
            long enough = comparator == null && limit > 0 ? (long) Math.max(0, numberToSkip) + limit : Long.MAX_VALUE;
            List<Document> matched = new ArrayList<>();
            for (Document document : documents) {
                if (documentMatchesQuery(document, query)) {
                    matched.add(document);
                    if (matched.size() >= enough) {
                        break;
                    }
                }
            }
            if (comparator != null) {
                matched.sort(comparator); // stable, as a sequential stream's sorted()
            }
            if (numberToSkip > 0) {
                matched = numberToSkip >= matched.size() ? new ArrayList<>()
                    : new ArrayList<>(matched.subList(numberToSkip, matched.size()));
            }
            if (limit > 0 && matched.size() > limit) {
                matched = new ArrayList<>(matched.subList(0, limit));
            }
            if (fieldSelector != null && !fieldSelector.keySet().isEmpty()) {
                matched.replaceAll(OmsSharedUpdates.projection(fieldSelector, getIdField()));
            }
            return createQueryResult(matched, batchSize);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                             int batchSize, Document fieldSelector) {
            long started = System.nanoTime();
            String plan = null;
            Iterable<Object> positions = null;
            Object id = query.get("_id");
            if (query.size() > 1 && id != null && isIdLookup(id)) {
                Document byId = new Document("_id", id);
                for (Index<Object> index : getIndexes()) {
                    if (index.canHandle(byId)) {
                        // candidates from the _id index; the whole filter still decides
                        plan = "_id";
                        positions = index.getPositions(byId);
                        break;
                    }
                }
            }
            if (plan == null) {
                syncShadows();
                PrefixIndex bestPrefix = null;
                PrefixIndex.Plan best = null;
                for (Index<Object> index : getIndexes()) {
                    if (!(index instanceof PrefixIndex) && index.canHandle(query)) {
                        plan = index.getName();
                        positions = index.getPositions(query);
                        break;
                    }
                    PrefixIndex prefix = index instanceof PrefixIndex p ? p : shadows.get(index.getName());
                    PrefixIndex.Plan candidate = prefix == null ? null : prefix.plan(query);
                    if (candidate != null && candidate.score() > (best == null ? 0 : best.score())) {
                        best = candidate;
                        bestPrefix = prefix;
                    }
                }
                if (positions == null && bestPrefix != null) {
                    // planned once: the positions are read with the plan that won
                    positions = bestPrefix.positions(best);
                    if (positions != null) {
                        plan = bestPrefix.getName() + "/" + best.usable() + (best.range() != null ? "+range" : "");
                    }
                }
            }
            MATCHED.set(0);
            long scanned;
            QueryResult result;
            if (positions != null) {
                List<Object> candidates = new ArrayList<>();
                positions.forEach(candidates::add);
                scanned = candidates.size();
                if (MATCH_LOOP) {
                    // read one by one, as the stream reads them (not past skip + limit matches)
                    Iterable<Document> documents = () -> new java.util.Iterator<>() {
                        private final java.util.Iterator<Object> each = candidates.iterator();

                        @Override
                        public boolean hasNext() {
                            return each.hasNext();
                        }

                        @Override
                        public Document next() {
                            return getDocument(each.next());
                        }
                    };
                    result = matchEach(documents, boundsApart(query), orderBy, numberToSkip, limit, batchSize, fieldSelector);
                } else {
                    result = matchDocuments(boundsApart(query), candidates, orderBy, numberToSkip, limit, batchSize, fieldSelector);
                }
            } else {
                plan = "SCAN";
                scanned = count();
                if (MATCH_LOOP && !isNaturalDescending(orderBy)) {
                    result = matchEach(data.values(), boundsApart(query), orderBy, numberToSkip, limit, batchSize, fieldSelector);
                } else {
                    result = matchDocuments(boundsApart(query), orderBy, numberToSkip, limit, batchSize, fieldSelector);
                }
            }
            String command = Stats.CURRENT.get();
            Stats.count((command == null ? "?" : command) + " " + getFullName() + " " + plan + " " + Stats.shape(query)
                + (orderBy == null || orderBy.isEmpty() ? "" : " sort " + Stats.shape(orderBy)),
                scanned, MATCHED.get(), System.nanoTime() - started);
            return result;
        }

        /**
         * A count of equalities on exactly the leading keys of an index, answered from that prefix's entry
         * without reading a document, as MongoDB answers it with a COUNT_SCAN of the index (the SLA gauges
         * count the orders of each (shop, stage) every pass: they read every order of the shop before,
         * docs/adr/0047). Anything else (another condition, skip or limit) is counted as before.
         */
        @Override
        public int count(Document query, int skip, int limit) {
            if (query != null && !query.isEmpty() && skip <= 0 && limit <= 0) {
                long started = System.nanoTime();
                syncShadows();
                for (Index<Object> index : getIndexes()) {
                    PrefixIndex prefix = index instanceof PrefixIndex p ? p : shadows.get(index.getName());
                    Integer counted = prefix == null ? null : prefix.exactCount(query);
                    if (counted != null) {
                        Stats.count("count " + getFullName() + " " + prefix.getName() + "/exact " + Stats.shape(query),
                            0, counted, System.nanoTime() - started);
                        return counted;
                    }
                }
            }
            return super.count(query, skip, limit);
        }

        /**
         * The distinct values of the key after equalities on the leading keys of an index, read from the
         * index's sorted entries under that prefix without reading a document (MongoDB's DISTINCT_SCAN): the
         * stages that hold orders of a shop, the pipeline versions of the orders in a stage (docs/adr/0047).
         * Anything the index cannot answer exactly goes the way it went before.
         */
        @Override
        public Document handleDistinct(Document query) {
            if (query.get("key") instanceof String key && query.getOrDefault("query", new Document()) instanceof Document filter
                && query.get("collation") == null) {
                long started = System.nanoTime();
                syncShadows();
                for (Index<Object> index : getIndexes()) {
                    PrefixIndex prefix = index instanceof PrefixIndex p ? p : shadows.get(index.getName());
                    List<Object> values = prefix == null ? null : prefix.distinctAfter(filter, key);
                    if (values != null) {
                        Stats.count("distinct " + getFullName() + " " + prefix.getName() + "/distinct " + key + " "
                            + Stats.shape(filter), 0, values.size(), System.nanoTime() - started);
                        Document response = new Document("values", values);
                        Utils.markOkay(response);
                        return response;
                    }
                }
            }
            return super.handleDistinct(query);
        }

        private synchronized void syncShadows() {
            List<Index<Object>> indexes = getIndexes();
            if (indexes.size() == shadowed) {
                return;
            }
            for (Index<Object> index : indexes) {
                List<IndexKey> keys = index.getKeys();
                if (!index.isUnique() || shadows.containsKey(index.getName())
                    || (keys.size() == 1 && keys.get(0).getKey().equals("_id"))) {
                    continue;
                }
                PrefixIndex shadow = new PrefixIndex(index.getName(), keys,
                    Utils.isTrue(index.toIndexDescription().get("sparse")));
                streamAllDocumentsWithPosition().forEach(d -> shadow.add(d.getDocument(), d.getPosition(), this));
                shadows.put(index.getName(), shadow);
            }
            shadowed = indexes.size();
        }

        /**
         * 1.47.0 keeps a collection's total BSON size for collStats/dbStats: to do so it encodes every
         * inserted document, and both versions of every updated one, only to measure them - about a
         * seventh of the stand-in's CPU under load (docs/notes.md, "jvm"). Nothing in OMS asks for those
         * sizes (collStats reports the size last kept).
         */
        @Override
        protected boolean tracksDataSize() {
            return false;
        }

        @Override
        protected Object addDocumentInternal(Document document) {
            Object position = super.addDocumentInternal(document);
            for (PrefixIndex shadow : shadows.values()) {
                shadow.add(document, position, this);
            }
            return position;
        }

        @Override
        protected void handleUpdate(Object position, Document oldDocument, Document newDocument) {
            super.handleUpdate(position, oldDocument, newDocument);
            for (PrefixIndex shadow : shadows.values()) {
                shadow.updateInPlace(oldDocument, newDocument, position, this);
            }
        }

        @Override
        protected void removeDocument(Object position) {
            Document document = shadows.isEmpty() ? null : getDocument(position);
            super.removeDocument(position);
            if (document != null) {
                for (PrefixIndex shadow : shadows.values()) {
                    shadow.remove(document, position);
                }
            }
        }

        /**
         * Updates with operators share what they do not change with the stored document
         * (OmsSharedUpdates: no deep copies); anything else (a replacement, an upsert that inserts, a remove,
         * an update that fails in findAndModify) goes through 1.47.0's own code, on snapshots as before.
         */
        @Override
        public synchronized Document findAndModify(Document query) {
            if (!SHARED_UPDATES) {
                return super.findAndModify(query);
            }
            Document answer;
            SHARING.set(true);
            try {
                answer = OmsSharedUpdates.findAndModify(this, query);
            } finally {
                SHARING.set(false);
            }
            return answer != null ? answer : super.findAndModify(query);
        }

        @Override
        public synchronized Document updateDocuments(Document selector, Document updateQuery, ArrayFilters arrayFilters,
                                                     boolean isMulti, boolean isUpsert, Oplog oplog) {
            if (!SHARED_UPDATES) {
                return super.updateDocuments(selector, updateQuery, arrayFilters, isMulti, isUpsert, oplog);
            }
            Document answer;
            SHARING.set(true);
            try {
                answer = OmsSharedUpdates.updateDocuments(this, selector, updateQuery, arrayFilters, isMulti, isUpsert, oplog);
            } finally {
                SHARING.set(false);
            }
            return answer != null ? answer : super.updateDocuments(selector, updateQuery, arrayFilters, isMulti, isUpsert, oplog);
        }

        @Override
        protected QueryResult createQueryResult(List<Document> matchedDocuments, int batchSize) {
            MATCHED.set(matchedDocuments.size());
            String command = Stats.CURRENT.get();
            if (SHARING.get() || (command != null && READ_ONLY.contains(command))) {
                // A stored Document is never changed once stored: the only code that changes documents,
                // AbstractMongoCollection.updateDocument (update, findAndModify), works on the copies
                // below and stores its copy as the new value. So a read can hand out the stored objects
                // themselves and encode them after the lock is released - they stay a snapshot.
                return super.createQueryResult(matchedDocuments, batchSize);
            }
            boolean updating = command != null && UPDATING.contains(command);
            List<Document> snapshots = new java.util.ArrayList<>(matchedDocuments.size());
            for (Document document : matchedDocuments) {
                snapshots.add(updating ? document.clone() : document.cloneDeeply());
            }
            return super.createQueryResult(snapshots, batchSize);
        }

        private static final Set<String> BOUNDS = Set.of("$gt", "$gte", "$lt", "$lte");
        static final Set<String> LOGICAL = Set.of("$and", "$or", "$nor");

        /**
         * The filter to match documents with: a field's several bounds ({f: {$gt: 5, $lt: 8}}) as one
         * condition each ({$and: [{f: {$gt: 5}}, {f: {$lt: 8}}]}). MongoDB lets each bound be met by a
         * different element of an array (it matches [1, 10]: 10 > 5 and 1 < 8); 1.47.0's matcher asks one
         * element to meet them all. On a single value both read the same. Also inside $and, $or and $nor; the
         * plan still reads the filter as given.
         */
        static Document boundsApart(Document query) {
            // Nearly every filter has nothing to split: found without copying it (this runs for every query).
            return hasBoundsTogether(query) ? splitBounds(query) : query;
        }

        private static boolean hasBoundsTogether(Document query) {
            for (Map.Entry<String, Object> entry : query.entrySet()) {
                String key = entry.getKey();
                Object value = entry.getValue();
                if (LOGICAL.contains(key) && value instanceof List<?> conditions) {
                    for (Object condition : conditions) {
                        if (condition instanceof Document document && hasBoundsTogether(document)) {
                            return true;
                        }
                    }
                } else if (!key.startsWith("$") && value instanceof Document condition && condition.size() > 1
                    && BOUNDS.containsAll(condition.keySet())) {
                    return true;
                }
            }
            return false;
        }

        private static Document splitBounds(Document query) {
            boolean changed = false;
            List<Object> apart = new ArrayList<>();
            Document out = new Document();
            for (Map.Entry<String, Object> entry : query.entrySet()) {
                String key = entry.getKey();
                Object value = entry.getValue();
                if (LOGICAL.contains(key) && value instanceof List<?> conditions) {
                    List<Object> each = new ArrayList<>(conditions.size());
                    for (Object condition : conditions) {
                        Object split = condition instanceof Document document ? boundsApart(document) : condition;
                        changed |= split != condition;
                        each.add(split);
                    }
                    out.put(key, each);
                } else if (!key.startsWith("$") && value instanceof Document condition && condition.size() > 1
                    && BOUNDS.containsAll(condition.keySet())) {
                    changed = true;
                    for (Map.Entry<String, Object> bound : condition.entrySet()) {
                        apart.add(new Document(key, new Document(bound.getKey(), bound.getValue())));
                    }
                } else {
                    out.put(key, value);
                }
            }
            if (!changed) {
                return query;
            }
            if (!apart.isEmpty()) {
                if (out.get("$and") instanceof List<?> conditions) {
                    apart.addAll(0, conditions);
                }
                out.put("$and", apart);
            }
            return out;
        }

        /** A plain value, or {$in: [...]} alone: what the _id index can answer. */
        private static boolean isIdLookup(Object id) {
            if (id instanceof Document doc) {
                return doc.size() == 1 && doc.containsKey("$in");
            }
            return !(id instanceof java.util.regex.Pattern);
        }
    }

    /**
     * Whether an update left every value an index reads unchanged: the top-level fields its keys start
     * from are equal in both versions. An index's keys are a function of those fields only, so then they
     * are the same; otherwise (or when equal values differ in type, 1 and 1.0) the caller compares the
     * keys themselves. 1.47.0 computes both documents' keys for every index on every update (a path split
     * by a regular expression, maps and sets per call): most updates change none of them.
     */
    static boolean sameIndexedFields(List<String> fields, Document oldDocument, Document newDocument) {
        for (String field : fields) {
            Object before = oldDocument.get(field);
            if (!java.util.Objects.equals(before, newDocument.get(field))
                || (before == null && oldDocument.containsKey(field) != newDocument.containsKey(field))) {
                return false;
            }
        }
        return true;
    }

    /** The top-level field each key of an index starts from. */
    static List<String> topFields(List<IndexKey> keys) {
        List<String> fields = new ArrayList<>();
        for (IndexKey key : keys) {
            String path = key.getKey();
            int dot = path.indexOf('.');
            String field = dot < 0 ? path : path.substring(0, dot);
            if (!fields.contains(field)) {
                fields.add(field);
            }
        }
        return List.copyOf(fields);
    }

    /**
     * A document's raw values for an index whose keys are all top-level fields, as 1.47.0's
     * Index.getKeyValues reads them (Document.getOrMissing; it then normalises each), or null when one
     * holds an array (several keys: the caller takes 1.47.0's way). getKeyValues splits each key's path
     * with a regular expression and builds a stream, maps and sets per call: with the stream in Index.keys,
     * a tenth of the stand-in's CPU under load, on every insert, update and lookup by document.
     */
    static Object[] topLevelValues(List<String> keys, Document document) {
        Object[] values = new Object[keys.size()];
        for (int i = 0; i < values.length; i++) {
            Object value = document.getOrMissing(keys.get(i));
            if (value instanceof Collection) {
                return null;
            }
            values[i] = value;
        }
        return values;
    }

    /**
     * Values as an index keys them (KeyValue.normalized: 1 and 1.0 the same, null for a missing field).
     * Strings, dates and booleans are left as they are by it, so those are taken directly (its stream per
     * call was most of what is left of computing a key).
     */
    static KeyValue normalized(Object[] values) {
        for (Object value : values) {
            if (!(value instanceof String || value instanceof java.time.Instant || value instanceof Boolean)) {
                return new KeyValue(java.util.Arrays.asList(values)).normalized();
            }
        }
        return new KeyValue(java.util.Arrays.asList(values));
    }

    /**
     * An index entry's key as the in-memory indexes keep it: its values in the fields of one object of 24-32
     * bytes, where a copied ArrayList took 48-56 (with its array) and a KeyValue over one 64-72. These keys
     * are most of what the stand-in keeps per stored document (docs/notes.md, "heap8"). Equal to, and hashed
     * as, any List of the same values (List.equals/hashCode), so a lookup with an ArrayList or a subList
     * finds it, and KEY_ORDER sorts it as before.
     */
    abstract static class PackedKey extends java.util.AbstractList<Object> implements java.util.RandomAccess {
        static List<Object> of(List<?> values) {
            return switch (values.size()) {
                case 1 -> new One(shared(values.get(0)));
                case 2 -> new Two(shared(values.get(0)), shared(values.get(1)));
                case 3 -> new Three(shared(values.get(0)), shared(values.get(1)), shared(values.get(2)));
                case 4 -> new Four(shared(values.get(0)), shared(values.get(1)), shared(values.get(2)), shared(values.get(3)));
                default -> {
                    Object[] each = values.toArray();
                    for (int i = 0; i < each.length; i++) {
                        each[i] = shared(each[i]);
                    }
                    yield new Many(each);
                }
            };
        }

        // Short strings of the keys shared through a direct-mapped table: one shop id, status or stage is a
        // value of thousands of keys, and each key held its own document's String of it. Racy on purpose,
        // as OmsWire's names: a slot holds the last string that fell on it, a miss only keeps a String.
        private static final int SHARED_SLOTS = 1 << 14;
        private static final String[] SHARED = new String[SHARED_SLOTS];

        private static Object shared(Object value) {
            if (!(value instanceof String text) || text.length() > 64) {
                return value;
            }
            int hash = text.hashCode();
            int slot = (hash ^ (hash >>> 16)) & (SHARED_SLOTS - 1);
            String found = SHARED[slot];
            if (found != null && found.equals(text)) {
                return found;
            }
            SHARED[slot] = text;
            return text;
        }

        @Override
        public int hashCode() {
            int hash = 1;
            for (int i = 0, n = size(); i < n; i++) {
                Object value = get(i);
                hash = 31 * hash + (value == null ? 0 : value.hashCode());
            }
            return hash;
        }

        @Override
        public boolean equals(Object other) {
            if (other == this) {
                return true;
            }
            if (!(other instanceof List<?> list) || !(other instanceof java.util.RandomAccess)) {
                return super.equals(other);
            }
            int n = size();
            if (list.size() != n) {
                return false;
            }
            for (int i = 0; i < n; i++) {
                if (!java.util.Objects.equals(get(i), list.get(i))) {
                    return false;
                }
            }
            return true;
        }

        private static final class One extends PackedKey {
            private final Object a;

            One(Object a) {
                this.a = a;
            }

            @Override
            public int size() {
                return 1;
            }

            @Override
            public Object get(int i) {
                java.util.Objects.checkIndex(i, 1);
                return a;
            }
        }

        private static final class Two extends PackedKey {
            private final Object a;
            private final Object b;

            Two(Object a, Object b) {
                this.a = a;
                this.b = b;
            }

            @Override
            public int size() {
                return 2;
            }

            @Override
            public Object get(int i) {
                return switch (i) {
                    case 0 -> a;
                    case 1 -> b;
                    default -> throw new IndexOutOfBoundsException(i);
                };
            }
        }

        private static final class Three extends PackedKey {
            private final Object a;
            private final Object b;
            private final Object c;

            Three(Object a, Object b, Object c) {
                this.a = a;
                this.b = b;
                this.c = c;
            }

            @Override
            public int size() {
                return 3;
            }

            @Override
            public Object get(int i) {
                return switch (i) {
                    case 0 -> a;
                    case 1 -> b;
                    case 2 -> c;
                    default -> throw new IndexOutOfBoundsException(i);
                };
            }
        }

        private static final class Four extends PackedKey {
            private final Object a;
            private final Object b;
            private final Object c;
            private final Object d;

            Four(Object a, Object b, Object c, Object d) {
                this.a = a;
                this.b = b;
                this.c = c;
                this.d = d;
            }

            @Override
            public int size() {
                return 4;
            }

            @Override
            public Object get(int i) {
                return switch (i) {
                    case 0 -> a;
                    case 1 -> b;
                    case 2 -> c;
                    case 3 -> d;
                    default -> throw new IndexOutOfBoundsException(i);
                };
            }
        }

        private static final class Many extends PackedKey {
            private final Object[] values;

            Many(Object[] values) {
                this.values = values;
            }

            @Override
            public int size() {
                return values.length;
            }

            @Override
            public Object get(int i) {
                return values[i];
            }
        }
    }

    /**
     * A unique index held in memory, as mongo-java-server's own memory backend keeps it: normalised key
     * values (KeyValue's equals/hashCode, so 1 and 1.0 are the same key, as in MongoDB) to positions.
     * AbstractUniqueIndex does everything else (sparse, uniqueness checks, $in lookups).
     */
    static final class MemoryUniqueIndex extends AbstractUniqueIndex<Object> {
        // Keyed by the one value of a single-key index (the _id index of every collection), or by a
        // PackedKey of the values (heap: see PackedKey); KeyValue's equality is its values' equality.
        private final Map<Object, Object> positions = new ConcurrentHashMap<>();
        private static final Object NULL_KEY = new Object();
        private final List<String> fields;
        private final List<String> keyNames;
        private final Set<String> keySet;
        private final boolean topLevelKeys;

        MemoryUniqueIndex(String name, List<IndexKey> keys, boolean sparse) {
            super(name, keys, sparse);
            this.fields = topFields(keys);
            this.keyNames = List.copyOf(super.keys());
            this.keySet = java.util.Collections.unmodifiableSet(new LinkedHashSet<>(keyNames));
            this.topLevelKeys = keyNames.stream().noneMatch(key -> key.contains("."));
        }

        /** The key names, built once (1.47.0 streams them into a new list on every call). */
        @Override
        protected List<String> keys() {
            return keyNames;
        }

        /**
         * The key names as a set, built once: 1.47.0's canHandle, asked of every unique index by every
         * query, streams them into a new set first (1 % of the stand-in's samples in the load bench).
         */
        @Override
        protected Set<String> keySet() {
            return keySet;
        }

        /** As 1.47.0 computes them, without the path split for top-level keys (topLevelValues). */
        @Override
        public Set<KeyValue> getKeyValues(Document document) {
            Object[] values = topLevelKeys ? topLevelValues(keyNames, document) : null;
            if (values == null) {
                return super.getKeyValues(document);
            }
            return java.util.Collections.singleton(normalized(values));
        }

        @Override
        public synchronized void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Object> collection) {
            if (!sameIndexedFields(fields, oldDocument, newDocument)) {
                super.checkUpdate(oldDocument, newDocument, collection);
            }
        }

        /**
         * AbstractUniqueIndex.checkAdd, for top-level keys without the path split: it reads the keys through
         * a package-private overload that getKeyValues above does not reach (≈ 2 % of the stand-in's CPU on
         * inserts). Same steps: a sparse index skips a document with none of its fields; the key, normalised,
         * must be new; the error names the key as the document holds it.
         */
        @Override
        public synchronized void checkAdd(Document document, MongoCollection<Object> collection) {
            Object[] values = topLevelKeys ? topLevelValues(keyNames, document) : null;
            if (values == null) {
                super.checkAdd(document, collection);
                return;
            }
            if (isSparse() && java.util.Arrays.stream(values).allMatch(Missing.class::isInstance)) {
                return;
            }
            if (containsKey(normalized(values))) {
                throw new de.bwaldvogel.mongo.exception.DuplicateKeyError(this, collection, getKeys(),
                    new KeyValue(java.util.Arrays.asList(values)));
            }
        }

        @Override
        public void updateInPlace(Document oldDocument, Document newDocument, Object position,
                                  MongoCollection<Object> collection) {
            if (!sameIndexedFields(fields, oldDocument, newDocument)) {
                super.updateInPlace(oldDocument, newDocument, position, collection);
            }
        }

        /** The map's key for a key value (a null value cannot be a ConcurrentHashMap's key). */
        private static Object packed(KeyValue keyValue) {
            if (keyValue.size() == 1) {
                Object value = keyValue.get(0);
                return value == null ? NULL_KEY : value;
            }
            List<Object> values = new ArrayList<>(keyValue.size());
            keyValue.forEach(values::add);
            return PackedKey.of(values);
        }

        private static KeyValue unpacked(Object key) {
            if (key instanceof PackedKey values) {
                return new KeyValue(values);
            }
            return new KeyValue(java.util.Collections.singletonList(key == NULL_KEY ? null : key));
        }

        @Override
        protected Object removeDocument(KeyValue keyValue) {
            return positions.remove(packed(keyValue));
        }

        @Override
        protected boolean putKeyPosition(KeyValue keyValue, Object position) {
            return positions.putIfAbsent(packed(keyValue), Missing.ofNullable(position)) == null;
        }

        @Override
        protected Iterable<Map.Entry<KeyValue, Object>> getIterable() {
            // read only by a regular expression's lookup on a single-key index: keys rebuilt as it reads them
            return () -> positions.entrySet().stream()
                .map(entry -> Map.entry(unpacked(entry.getKey()), entry.getValue())).iterator();
        }

        @Override
        protected Object getPosition(KeyValue keyValue) {
            return positions.get(packed(keyValue));
        }

        @Override
        public long getCount() {
            return positions.size();
        }

        @Override
        public boolean isEmpty() {
            return positions.isEmpty();
        }

        @Override
        public long getDataSize() {
            return getCount();
        }
    }

    /**
     * A non-unique (compound) index held in memory: for every prefix of its keys, the positions of the
     * documents with those values (multikey as MongoDB: one entry per array element). It answers a filter
     * with an equality or an {$in} of plain values on a prefix of its keys (the longest usable prefix);
     * the whole filter is still matched on the candidates, so it only narrows what is scanned. Documents
     * whose keys cannot be listed (parallel arrays, an empty array) are always candidates.
     */
    static final class PrefixIndex extends Index<Object> {
        private static final int MAX_LOOKUPS = 1000;
        // For each prefix length, its values to the position of the one document that has them, or to
        // Positions when several do: most prefixes of a selective index name one document, and a set
        // per entry (LinkedHashSet: about 200 bytes) was most of the index's heap.
        private final List<Map<List<Object>, Object>> byPrefix = new ArrayList<>();
        // The same entries sorted (key by key, in MongoDB's order of values), for a prefix length once a
        // range on its last key was asked for, then kept up to date: a range after an equality prefix
        // reads only the entries in range. The SLA loop's {stage_deadline: {$lte: now}}, the reservation
        // expiry's {status, expires_at: {$lte}} and the payment reminders' {next_reminder_at: {$lte}}
        // each scanned a whole collection (or all of one status) every few seconds, for nothing. Built
        // on demand because sorted inserts cost every other index a fifth of the stand-in's CPU (a
        // TreeMap for every level: docs/notes.md, "jvm").
        private final List<NavigableMap<List<Object>, Object>> sorted = new ArrayList<>();
        private final Set<Object> unlisted = new LinkedHashSet<>();
        private final List<String> keyNames;
        // every key a top-level field: its value is document.get(key), no path to split
        private final boolean topLevelKeys;
        private final List<String> fields;
        // one key "top.sub" of plain names (not numbers: an array's element by position): see subKeysOf
        private static final java.util.regex.Pattern SUB_NAME = java.util.regex.Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
        private final String topField;
        private final String subField;
        private long entries;
        // Per key position: some document held several values there (an array of two or more distinct
        // values, as MongoDB's "multikey"). Kept once set, as MongoDB keeps it until the index is rebuilt.
        private final boolean[] multikey;

        /**
         * Several positions under one prefix, in insertion order (a position itself is never one), as a
         * LinkedHashSet keeps them: the positions in an array, found through a table of their places in it
         * (open addressing, at most three quarters full). About 12 bytes a position where a LinkedHashSet took about
         * 48 (an entry object each, and its table): an index's first key (the shop) has every document of the
         * collection under it, so these sets were the largest part of the indexes (docs/notes.md, "heap8").
         */
        static final class Positions extends java.util.AbstractSet<Object> {
            private static final Object GONE = new Object(); // a removed position's place in `order`
            private static final int REMOVED = -1;           // a removed position's slot in `table`
            private Object[] order = new Object[6];          // positions in insertion order, GONE where removed
            private int[] table = new int[8];                // place in `order` + 1; 0 empty; `order` is 3/4 its size
            private int used;                                // places of `order` taken, GONE ones included
            private int size;

            @Override
            public int size() {
                return size;
            }

            /** The slot of `position` in the table, or -1. */
            private int slotOf(Object position) {
                int mask = table.length - 1;
                for (int slot = spread(position.hashCode()) & mask; ; slot = (slot + 1) & mask) {
                    int at = table[slot];
                    if (at == 0) {
                        return -1;
                    }
                    if (at != REMOVED && position.equals(order[at - 1])) {
                        return slot;
                    }
                }
            }

            private static int spread(int hash) {
                return hash ^ (hash >>> 16);
            }

            /** Puts place `at` of `order` into an empty slot of `table` (there is always one: `order` is smaller). */
            private static void place(int[] table, Object position, int at) {
                int mask = table.length - 1;
                int slot = spread(position.hashCode()) & mask;
                while (table[slot] != 0) {
                    slot = (slot + 1) & mask;
                }
                table[slot] = at + 1;
            }

            @Override
            public boolean contains(Object position) {
                return position != null && slotOf(position) >= 0;
            }

            @Override
            public boolean add(Object position) {
                if (slotOf(position) >= 0) {
                    return false;
                }
                if (used == order.length) {
                    // full: drop the removed ones, and grow when more than half are live
                    rebuild(size >= order.length / 2 ? table.length * 2 : table.length);
                }
                order[used] = position;
                place(table, position, used);
                used++;
                size++;
                return true;
            }

            @Override
            public boolean remove(Object position) {
                int slot = position == null ? -1 : slotOf(position);
                if (slot < 0) {
                    return false;
                }
                order[table[slot] - 1] = GONE;
                table[slot] = REMOVED;
                size--;
                return true;
            }

            private void rebuild(int tableLength) {
                Object[] live = new Object[tableLength / 4 * 3];
                int[] slots = new int[tableLength];
                int n = 0;
                for (int i = 0; i < used; i++) {
                    if (order[i] != GONE) {
                        live[n] = order[i];
                        place(slots, live[n], n);
                        n++;
                    }
                }
                order = live;
                table = slots;
                used = n;
            }

            @Override
            public java.util.Iterator<Object> iterator() {
                return new java.util.Iterator<>() {
                    private int next = skipGone(0);

                    private int skipGone(int from) {
                        while (from < used && order[from] == GONE) {
                            from++;
                        }
                        return from;
                    }

                    @Override
                    public boolean hasNext() {
                        return next < used;
                    }

                    @Override
                    public Object next() {
                        if (next >= used) {
                            throw new java.util.NoSuchElementException();
                        }
                        Object position = order[next];
                        next = skipGone(next + 1);
                        return position;
                    }
                };
            }
        }

        PrefixIndex(String name, List<IndexKey> keys, boolean sparse) {
            super(name, keys, sparse);
            this.keyNames = List.copyOf(super.keys());
            this.topLevelKeys = keyNames.stream().noneMatch(key -> key.contains("."));
            String[] names = keyNames.size() == 1 ? keyNames.get(0).split("\\.", -1) : new String[0];
            boolean plain = names.length == 2 && SUB_NAME.matcher(names[0]).matches() && SUB_NAME.matcher(names[1]).matches();
            this.topField = plain && SUB_KEYS ? names[0] : null;
            this.subField = plain && SUB_KEYS ? names[1] : null;
            this.fields = topFields(keys);
            this.multikey = new boolean[keys.size()];
            for (int i = 0; i < keys.size(); i++) {
                byPrefix.add(new HashMap<>());
                sorted.add(null);
            }
        }

        /** Key lists in order, value by value (as an index sorts them), a shorter list before its extensions. */
        private static final Comparator<List<Object>> KEY_ORDER = (a, b) -> {
            int common = Math.min(a.size(), b.size());
            for (int i = 0; i < common; i++) {
                int order = compareValues(a.get(i), b.get(i));
                if (order != 0) {
                    return order;
                }
            }
            return Integer.compare(a.size(), b.size());
        };

        /**
         * ValueComparator's order; two strings, two dates or two booleans compared directly, as it compares
         * them, without its walk over the BSON type order first (most of an index entry's insert cost).
         */
        static int compareValues(Object a, Object b) {
            if (a instanceof String x && b instanceof String y) {
                return x.compareTo(y);
            }
            if (a instanceof java.time.Instant x && b instanceof java.time.Instant y) {
                return x.compareTo(y);
            }
            if (a instanceof Boolean x && b instanceof Boolean y) {
                return Boolean.compare(x, y);
            }
            return ValueComparator.ascWithoutListHandling().compare(a, b);
        }

        /** The key names, built once (1.47.0 streams them into a new list on every call). */
        @Override
        protected List<String> keys() {
            return keyNames;
        }

        /** The keys of a document, null when they cannot be listed; empty when a sparse index leaves it out. */
        private Set<List<Object>> keysOf(Document document) {
            Object[] raw = topLevelKeys ? topLevelValues(keyNames, document) : null;
            if (raw != null) {
                // as below, without the path split: no array, so one key
                boolean absent = true;
                for (Object value : raw) {
                    absent &= value instanceof de.bwaldvogel.mongo.backend.Missing;
                }
                if (isSparse() && absent) {
                    return Set.of();
                }
                List<Object> key = new ArrayList<>(raw.length);
                normalized(raw).forEach(key::add);
                return Set.of(key);
            }
            if (subField != null) {
                return subKeysOf(document);
            }
            if (isSparse() && keyNames.stream().allMatch(key -> absent(Utils.getSubdocumentValueCollectionAware(document, key)))) {
                return Set.of();
            }
            Set<KeyValue> values;
            try {
                values = getKeyValues(document);
            } catch (RuntimeException e) {
                return null;
            }
            if (values.isEmpty()) {
                // one key holding an empty array: no equality on it can match; otherwise keep it a candidate
                return keyNames.size() == 1 ? Set.of() : null;
            }
            Set<List<Object>> out = new LinkedHashSet<>();
            for (KeyValue value : values) {
                List<Object> list = new ArrayList<>(value.size());
                value.forEach(list::add);
                out.add(list);
            }
            return out;
        }

        /**
         * keysOf for one key of two plain names ("outbox.event_id", the outbox index every aggregate
         * collection has): the value 1.47.0's Utils.getSubdocumentValueCollectionAware reads - the field of
         * a document; of each document in an array, an array's elements spliced in, Missing for an element
         * that is not a document - then Index.getKeyValues' steps for one key (its values normalised, one key
         * per distinct element of an array). The same keys without splitting the path with a regular
         * expression, twice per document, on every write of an outbox (docs/notes.md, "standin4").
         */
        private Set<List<Object>> subKeysOf(Document document) {
            Object top = document.getOrMissing(topField);
            Object value;
            if (top instanceof Document inner) {
                value = inner.getOrMissing(subField);
            } else if (top instanceof Collection<?> elements) {
                List<Object> values = new ArrayList<>();
                for (Object element : elements) {
                    if (element instanceof Document inner) {
                        Object found = inner.getOrMissing(subField);
                        if (found instanceof Collection<?> many) {
                            values.addAll(many);
                        } else {
                            values.add(found);
                        }
                    } else {
                        values.add(de.bwaldvogel.mongo.backend.Missing.getInstance());
                    }
                }
                value = values;
            } else {
                value = de.bwaldvogel.mongo.backend.Missing.getInstance();
            }
            if (isSparse() && absent(value)) {
                return Set.of();
            }
            Object normalized = OmsSharedUpdates.normalizedValue(value);
            if (normalized instanceof Collection<?> elements) {
                Set<List<Object>> out = new LinkedHashSet<>();
                for (Object element : elements) {
                    List<Object> key = new ArrayList<>(1);
                    key.add(element);
                    out.add(key);
                }
                return out; // none: no equality can match (as keysOf for one key)
            }
            List<Object> key = new ArrayList<>(1);
            key.add(normalized);
            return Set.of(key);
        }

        private static boolean absent(Object value) {
            return value instanceof de.bwaldvogel.mongo.backend.Missing
                || (value instanceof Collection<?> values && values.isEmpty());
        }

        private static Object position(Document document) {
            return document.get("_id");
        }

        @Override
        public synchronized Object getPosition(Document document) {
            return null; // not a unique index: the position comes from the _id index
        }

        @Override
        public void checkAdd(Document document, MongoCollection<Object> collection) {
        }

        @Override
        public synchronized void add(Document document, Object position, MongoCollection<Object> collection) {
            change(keysOf(document), position, true);
        }

        /** Adds (or removes) a document's position under every prefix of each of its keys. */
        private void change(Set<List<Object>> keys, Object position, boolean adding) {
            if (keys == null) {
                if (adding ? unlisted.add(position) : unlisted.remove(position)) {
                    entries += adding ? 1 : -1;
                }
                return;
            }
            if (adding) {
                markMultikey(keys);
            }
            for (List<Object> key : keys) {
                for (int p = 1; p <= key.size(); p++) {
                    List<Object> prefix = key.subList(0, p);
                    Map<List<Object>, Object> level = byPrefix.get(p - 1);
                    Object before = level.get(prefix);
                    Object now = adding ? put(level, prefix, before, position) : take(level, prefix, before, position);
                    if (now == UNCHANGED) {
                        continue;
                    }
                    mirror(p - 1, prefix, before, now);
                    if (p == key.size()) {
                        entries += adding ? 1 : -1;
                    }
                }
            }
        }

        /** Marks the key positions where a document's keys differ: it held an array of several values there. */
        private void markMultikey(Set<List<Object>> keys) {
            if (keys.size() < 2) {
                return;
            }
            List<Object> first = null;
            for (List<Object> key : keys) {
                if (first == null) {
                    first = key;
                    continue;
                }
                for (int i = 0; i < key.size(); i++) {
                    if (!multikey[i] && !java.util.Objects.equals(key.get(i), first.get(i))) {
                        multikey[i] = true;
                    }
                }
            }
        }

        /**
         * Brings a prefix's entry into the sorted view of its level (if there is one) after it changed from
         * `before` to `now`. A set of positions that only gained or lost one is the object the view already
         * holds; a prefix the view holds keeps its key object there, so only a new prefix is copied into it.
         */
        private void mirror(int level, List<Object> prefix, Object before, Object now) {
            NavigableMap<List<Object>, Object> view = sorted.get(level);
            if (view == null) {
                return;
            }
            if (now == before) {
                return;
            }
            if (now == null) {
                view.remove(prefix);
            } else if (before == null) {
                view.put(PackedKey.of(prefix), now);
            } else {
                view.put(prefix, now); // TreeMap keeps the key it holds and replaces the value only
            }
        }

        /** The sorted view of a level, built from its entries at first use. */
        private NavigableMap<List<Object>, Object> sortedLevel(int level) {
            NavigableMap<List<Object>, Object> view = sorted.get(level);
            if (view == null) {
                view = new TreeMap<>(KEY_ORDER);
                view.putAll(byPrefix.get(level));
                sorted.set(level, view);
            }
            return view;
        }

        /** What `put` and `take` answer when the position was (or was not) there already. */
        private static final Object UNCHANGED = new Object();

        /** Adds a position under a prefix whose entry is `present`; the entry it holds now, or UNCHANGED. */
        private static Object put(Map<List<Object>, Object> map, List<Object> prefix, Object present, Object position) {
            if (present == null) {
                map.put(PackedKey.of(prefix), position); // a view of the key: copied for the map to keep
                return position;
            }
            if (present instanceof Positions positions) {
                return positions.add(position) ? positions : UNCHANGED;
            }
            if (present.equals(position)) {
                return UNCHANGED;
            }
            Positions positions = new Positions();
            positions.add(present);
            positions.add(position);
            map.put(prefix, positions); // the map keeps the key object it holds
            return positions;
        }

        /** Removes a position from under a prefix whose entry is `present`; the entry left (null: none), or UNCHANGED. */
        private static Object take(Map<List<Object>, Object> map, List<Object> prefix, Object present, Object position) {
            if (present instanceof Positions positions) {
                if (!positions.remove(position)) {
                    return UNCHANGED;
                }
                if (positions.size() == 1) {
                    Object only = positions.iterator().next();
                    map.put(prefix, only);
                    return only;
                }
                return positions;
            }
            if (present != null && present.equals(position)) {
                map.remove(prefix);
                return null;
            }
            return UNCHANGED;
        }

        private static void collect(Object found, Collection<Object> into) {
            if (found instanceof Positions positions) {
                into.addAll(positions);
            } else if (found != null) {
                into.add(found);
            }
        }

        @Override
        public Object remove(Document document) {
            return remove(document, position(document));
        }

        synchronized Object remove(Document document, Object position) {
            change(keysOf(document), position, false);
            return position;
        }

        @Override
        public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Object> collection) {
        }

        @Override
        public synchronized void updateInPlace(Document oldDocument, Document newDocument, Object position,
                                               MongoCollection<Object> collection) {
            if (sameIndexedFields(fields, oldDocument, newDocument)) {
                return;
            }
            // each version's keys computed once (they were computed twice each: to compare, then to move)
            Set<List<Object>> before = keysOf(oldDocument);
            Set<List<Object>> after = keysOf(newDocument);
            if (!java.util.Objects.equals(before, after)) {
                change(before, position(oldDocument), false);
                change(after, position, true);
            }
        }

        /** A value an equality on the index answers exactly (an array, a document, a regex or null do not). */
        private static boolean plain(Object value) {
            return value != null && !(value instanceof Map) && !(value instanceof Collection)
                && !(value instanceof java.util.regex.Pattern) && !(value instanceof de.bwaldvogel.mongo.backend.Missing)
                && !value.getClass().getSimpleName().contains("RegularExpression");
        }

        /** The values a filter's condition on one key allows, or null when the index cannot list them. */
        private static List<Object> allowed(Object condition) {
            if (plain(condition)) {
                return List.of(condition);
            }
            if (condition instanceof Document doc && doc.size() == 1 && doc.get("$in") instanceof Collection<?> in) {
                List<Object> out = new ArrayList<>();
                for (Object value : in) {
                    if (!plain(value)) {
                        return null;
                    }
                    out.add(value);
                }
                return out;
            }
            return null;
        }

        /** A sparse index on one key holds exactly the documents that have it. */
        private boolean answersExists(Document query) {
            return isSparse() && keyNames.size() == 1 && query.get(keyNames.get(0)) instanceof Document condition
                && condition.size() == 1 && Boolean.TRUE.equals(condition.get("$exists"));
        }

        /** How many leading keys of this index the filter pins (0: it cannot help). */
        private int usablePrefix(Document query) {  // (plan's, which answered a sparse `$exists` already)
            int usable = 0;
            long lookups = 1;
            for (String key : keyNames) {
                List<Object> values = query.containsKey(key) ? allowed(query.get(key)) : null;
                if (values == null || lookups * Math.max(1, values.size()) > MAX_LOOKUPS) {
                    break;
                }
                lookups *= Math.max(1, values.size());
                usable++;
            }
            return usable;
        }

        @Override
        public boolean canHandle(Document query) {
            return false; // chosen by IdFirstCollection.queryDocuments, which compares prefixes
        }

        /**
         * How this index answers a filter, planned once (the collection compares the plans' scores, then
         * reads the winner's positions with the same plan): the leading keys pinned by equalities or $in,
         * and a range on the key after them when that key never held several values in one document.
         */
        record Plan(Document query, int usable, Range range, boolean exists) {
            /** Two per leading key pinned, one more for a range on the next key (0: it cannot help). */
            int score() {
                return exists ? 2 : 2 * usable + (range != null ? 1 : 0);
            }
        }

        synchronized Plan plan(Document query) {
            if (answersExists(query)) {
                return new Plan(query, 1, null, true);
            }
            int usable = usablePrefix(query);
            // A multikey key position holds one entry per array element, so a range over its entries misses
            // a document none of whose elements lies in the range but which MongoDB still matches
            // ({$gt: 5, $lt: 8} on [1, 10]: 10 > 5 and 1 < 8). MongoDB then bounds the scan by one side only;
            // here the equality prefix alone narrows it, and the filter decides.
            Range range = usable < keyNames.size() && !multikey[usable] ? Range.of(query.get(keyNames.get(usable))) : null;
            return new Plan(query, usable, range, false);
        }

        @Override
        public synchronized Iterable<Object> getPositions(Document query) {
            Plan plan = plan(query);
            return plan.score() == 0 ? null : positions(plan);
        }

        /** The candidates of a plan, or null when the index changed under it so that it no longer holds. */
        synchronized List<Object> positions(Plan plan) {
            if (plan.exists()) {
                Set<Object> all = new LinkedHashSet<>(unlisted);
                byPrefix.get(0).values().forEach(found -> collect(found, all));
                return new ArrayList<>(all);
            }
            int usable = plan.usable();
            Range range = plan.range();
            if (range != null && multikey[usable]) {
                return null; // an array arrived since the plan was made: a scan answers instead
            }
            List<List<Object>> lookups = new ArrayList<>();
            lookups.add(new ArrayList<>());
            List<String> keys = keyNames;
            for (int i = 0; i < usable; i++) {
                List<List<Object>> next = new ArrayList<>();
                for (Object value : allowed(plan.query().get(keys.get(i)))) {
                    Object normalized = new KeyValue(value).normalized().get(0);
                    for (List<Object> prefix : lookups) {
                        List<Object> longer = new ArrayList<>(prefix);
                        longer.add(normalized);
                        next.add(longer);
                    }
                }
                lookups = next;
            }
            Set<Object> positions = new LinkedHashSet<>();
            if (range != null) {
                NavigableMap<List<Object>, Object> map = sortedLevel(usable);
                for (List<Object> lookup : lookups) {
                    collectRange(map, lookup, range, positions);
                }
            } else {
                Map<List<Object>, Object> map = byPrefix.get(usable - 1);
                for (List<Object> lookup : lookups) {
                    collect(map.get(lookup), positions);
                }
            }
            positions.addAll(unlisted);
            return new ArrayList<>(positions);
        }

        /**
         * The positions under `prefix` whose next key lies in the range, in index order. Null and missing
         * values are left out: a range of plain values never matches them (in MongoDB, and in 1.47.0's
         * matcher; `test_indexed_filters_find_what_a_scan_finds`) - reservations without an expiry were
         * every candidate of the expiry query. Values of other types than the bounds' sort wholly below or
         * above them and are read when the range is open on that side: a superset, the filter decides.
         */
        private static void collectRange(NavigableMap<List<Object>, Object> map, List<Object> prefix, Range range,
                                         Collection<Object> into) {
            List<Object> from = prefix;
            boolean fromInclusive = true;
            if (range.low != null) {
                from = new ArrayList<>(prefix);
                from.add(range.low);
                fromInclusive = range.lowInclusive;
            }
            int length = prefix.size();
            for (Map.Entry<List<Object>, Object> entry : map.tailMap(from, fromInclusive).entrySet()) {
                List<Object> key = entry.getKey();
                if (KEY_ORDER.compare(key.subList(0, length), prefix) != 0) {
                    break; // past the prefix
                }
                if (range.high != null) {
                    int order = compareValues(key.get(length), range.high);
                    if (order > 0 || (order == 0 && !range.highInclusive)) {
                        break;
                    }
                }
                if (key.get(length) != null) {
                    collect(entry.getValue(), into);
                }
            }
        }

        /** {$gt/$gte/$lt/$lte} of plain values and nothing else in a condition: its bounds, normalised. */
        record Range(Object low, boolean lowInclusive, Object high, boolean highInclusive) {
            static Range of(Object condition) {
                if (!(condition instanceof Document document) || document.isEmpty()) {
                    return null;
                }
                Object low = null;
                Object high = null;
                boolean lowInclusive = false;
                boolean highInclusive = false;
                for (Map.Entry<String, Object> entry : document.entrySet()) {
                    if (!plain(entry.getValue())) {
                        return null;
                    }
                    Object value = new KeyValue(entry.getValue()).normalized().get(0);
                    switch (entry.getKey()) {
                        case "$gt" -> { low = value; lowInclusive = false; }
                        case "$gte" -> { low = value; lowInclusive = true; }
                        case "$lt" -> { high = value; highInclusive = false; }
                        case "$lte" -> { high = value; highInclusive = true; }
                        default -> {
                            return null;
                        }
                    }
                }
                return new Range(low, lowInclusive, high, highInclusive);
            }
        }

        /** The normalised values of a filter's plain equalities on this index's first `length` keys, or null. */
        private List<Object> pinnedPrefix(Document query, int length) {
            List<Object> prefix = new ArrayList<>(length);
            for (int i = 0; i < length; i++) {
                String key = keyNames.get(i);
                Object value = query.get(key);
                if (!query.containsKey(key) || !plain(value)) {
                    return null;
                }
                prefix.add(new KeyValue(value).normalized().get(0));
            }
            return prefix;
        }

        /**
         * How many documents a filter of plain equalities on exactly this index's leading keys (and nothing
         * else) matches: the size of that prefix's entry. Null when the index cannot say exactly (another
         * condition, a value an equality does not answer exactly, documents whose keys were not listed).
         * A document is under a prefix once however many of its keys share it (Positions is a set).
         */
        synchronized Integer exactCount(Document query) {
            int length = query.size();
            if (length == 0 || length > keyNames.size() || !unlisted.isEmpty()) {
                return null;
            }
            List<Object> prefix = pinnedPrefix(query, length);
            if (prefix == null) {
                return null;
            }
            Object found = byPrefix.get(length - 1).get(prefix);
            return found instanceof Positions positions ? positions.size() : found == null ? 0 : 1;
        }

        /**
         * The values of `key` among the documents a filter of plain equalities on exactly the keys before it
         * matches, when `key` is the next key of this index: the entries under that prefix in the level's
         * sorted view. Null when the index cannot say exactly: another condition, documents whose keys were
         * not listed, a key that held arrays, an entry without a value (missing and null are one key here,
         * which distinct tells apart) or with a value other than a string (an index keeps values normalised).
         */
        synchronized List<Object> distinctAfter(Document query, String key) {
            int length = query.size();
            if (length >= keyNames.size() || !keyNames.get(length).equals(key) || !unlisted.isEmpty()) {
                return null;
            }
            for (int i = 0; i <= length; i++) {
                if (multikey[i]) {
                    return null;
                }
            }
            List<Object> prefix = pinnedPrefix(query, length);
            if (prefix == null) {
                return null;
            }
            List<Object> values = new ArrayList<>();
            for (Map.Entry<List<Object>, Object> entry : sortedLevel(length).tailMap(prefix, false).entrySet()) {
                List<Object> entryKey = entry.getKey();
                if (KEY_ORDER.compare(entryKey.subList(0, length), prefix) != 0) {
                    break; // past the prefix
                }
                if (!(entryKey.get(length) instanceof String value)) {
                    return null;
                }
                values.add(value);
            }
            return values;
        }

        @Override
        public synchronized long getCount() {
            return entries;
        }

        @Override
        public long getDataSize() {
            return 0;
        }

        @Override
        public synchronized void drop() {
            byPrefix.forEach(Map::clear);
            sorted.replaceAll(view -> null);
            unlisted.clear();
            java.util.Arrays.fill(multikey, false);
            entries = 0;
        }
    }

    /**
     * What the server did, for benchmarks (`db.command("omsStats")`, `{omsStats: 1, reset: true}` clears):
     * every command by name and namespace, and every query (find, findAndModify, update, delete, count) by
     * namespace, plan (an index name, "_id", or SCAN) and filter shape, with documents scanned and returned.
     */
    static final class Stats {
        static final String COMMAND = "omsStats";
        static final ThreadLocal<String> CURRENT = new ThreadLocal<>();
        private static final Map<String, LongAdder[]> COUNTERS = new ConcurrentHashMap<>();

        static void count(String key, long scanned, long returned, long nanos) {
            LongAdder[] c = COUNTERS.computeIfAbsent(key,
                k -> new LongAdder[] {new LongAdder(), new LongAdder(), new LongAdder(), new LongAdder()});
            c[0].increment();
            c[1].add(scanned);
            c[2].add(returned);
            c[3].add(nanos);
        }

        static Document report(Document query) {
            List<Document> rows = new ArrayList<>();
            for (Map.Entry<String, LongAdder[]> e : COUNTERS.entrySet()) {
                LongAdder[] c = e.getValue();
                rows.add(new Document("key", e.getKey()).append("n", c[0].sum()).append("scanned", c[1].sum())
                    .append("returned", c[2].sum()).append("micros", c[3].sum() / 1000));
            }
            if (Utils.isTrue(query.get("reset"))) {
                COUNTERS.clear();
            }
            Document response = new Document("stats", rows);
            Utils.markOkay(response);
            return response;
        }

        private static final Set<String> LOGICAL = IdFirstCollection.LOGICAL;

        /**
         * A field path with its id-like segments (8+ characters with a digit) as "*": catalog's stock
         * filters name `reservations.<reservation id>`, and a counter per id grew the counters by one key
         * (≈ 0.5 KB) per order, without bound (docs/notes.md, "jvm").
         */
        static String field(String path) {
            if (path.length() < 8) {
                return path;
            }
            if (path.indexOf('.') < 0) {
                return idLike(path) ? "*" : path; // one segment (most names): no split, no copy
            }
            StringBuilder out = new StringBuilder(path.length());
            for (String segment : path.split("\\.", -1)) {
                if (out.length() > 0) {
                    out.append('.');
                }
                out.append(idLike(segment) ? "*" : segment);
            }
            return out.toString();
        }

        /** 8+ characters with a digit; a loop, not a stream per name (every query's filter is counted by its shape). */
        private static boolean idLike(String segment) {
            if (segment.length() < 8) {
                return false;
            }
            for (int i = 0; i < segment.length(); i++) {
                if (Character.isDigit(segment.charAt(i))) {
                    return true;
                }
            }
            return false;
        }

        /** A filter with its values left out: keys and operators only. */
        static String shape(Object value) {
            if (value instanceof Document doc) {
                StringBuilder out = new StringBuilder("{");
                for (Map.Entry<String, Object> e : doc.entrySet()) {
                    if (out.length() > 1) {
                        out.append(",");
                    }
                    out.append(field(e.getKey()));
                    Object v = e.getValue();
                    if (v instanceof Document || (v instanceof List<?> && LOGICAL.contains(e.getKey()))) {
                        out.append(":").append(shape(v));
                    }
                }
                return out.append("}").toString();
            }
            if (value instanceof List<?> list) {
                StringBuilder out = new StringBuilder("[");
                for (Object v : list) {
                    if (out.length() > 1) {
                        out.append(",");
                    }
                    out.append(shape(v));
                }
                return out.append("]").toString();
            }
            return "";
        }
    }
}
