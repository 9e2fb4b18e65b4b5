package de.bwaldvogel.mongo.backend;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.FailedToParseException;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.exception.MongoServerException;
import de.bwaldvogel.mongo.oplog.Oplog;

/**
 * findAndModify and update with operators ($set, $inc, $push...) as mongo-java-server 1.47.0 applies them
 * (AbstractMongoCollection.findAndModify, updateDocuments, updateDocument, calculateUpdateDocument: the same
 * steps, checks, errors and answers), except for what they copy. 1.47.0 deep-copies the matched document
 * twice per update (its "old" version, then the base of the new one) and compares the two deeply; on the
 * stand-in's hot documents (catalog's stock, with a reservation per open order and the last 200 applied
 * keys) that was most of an update's work and most of what the stand-in allocated (docs/notes.md,
 * "standin2"). Here the old version is the stored document itself, which nothing changes once stored
 * (OmsMongoServer's IdFirstCollection), and the new one shares every value the update does not reach:
 * only the containers on the updated paths are copied (shallowly), so 1.47.0's FieldUpdates, which changes
 * the document it is given in place, changes copies only. Unchanged values are then the same objects in
 * both versions, so comparing them is an identity check.
 *
 * In the library's package only to reach its package-private update code (FieldUpdates, UpdateOperator,
 * Projection, ArrayFilters.parse, validateUpdateQuery); nothing of the library is replaced. A call answers
 * null when it leaves the case to 1.47.0's own code (removes, replacements, upserts that insert, and a
 * findAndModify whose update fails, so that 1.47.0 raises its own, wrapped, error): the caller then runs
 * the library's method, which finds the same documents, since nothing was changed.
 */
public final class OmsSharedUpdates {

    private OmsSharedUpdates() {
    }

    /** An update made only of operators (the case handled here); a replacement or a pipeline is not. */
    public static boolean operatorsOnly(Object update) {
        if (!(update instanceof Document document) || document.isEmpty()) {
            return false;
        }
        for (String key : document.keySet()) {
            if (!key.startsWith("$")) {
                return false;
            }
        }
        return true;
    }

    /** AbstractMongoCollection.findAndModify for an update with operators; null: the library's own. */
    public static <P> Document findAndModify(AbstractMongoCollection<P> collection, Document query) {
        if (query.containsKey("remove") || !operatorsOnly(query.get("update"))) {
            return null;
        }
        boolean returnNew = Utils.isTrue(query.get("new"));
        Document queryObject = new Document();
        queryObject.put("query", query.containsKey("query") ? query.get("query") : new Document());
        if (query.containsKey("sort")) {
            queryObject.put("orderby", query.get("sort"));
        }

        Document lastErrorObject = null;
        Document returnDocument = null;
        boolean matchingDocument = false;
        for (Document document : collection.handleQuery(queryObject, 0, 1)) {
            matchingDocument = true;
            Document updateQuery = (Document) query.get("update");
            Document filter = (Document) queryObject.get("query");
            Updated updated;
            try {
                ArrayFilters arrayFilters = ArrayFilters.parse(query, updateQuery);
                updated = update(collection, document, filter, updateQuery, arrayFilters);
            } catch (MongoServerError e) {
                return null; // nothing changed: 1.47.0 runs it again and raises the error as it words it
            }
            returnDocument = returnNew ? updated.now() : updated.before();
            lastErrorObject = new Document("updatedExisting", Boolean.TRUE);
            lastErrorObject.put("n", Integer.valueOf(1));
        }
        if (!matchingDocument && Utils.isTrue(query.get("upsert"))) {
            return null; // an insert: nothing to share
        }

        Document fields = (Document) query.get("fields");
        if (fields != null) {
            returnDocument = new Projection(fields, collection.getIdField()).projectDocument(returnDocument);
        }
        Document result = new Document();
        if (lastErrorObject != null) {
            result.put("lastErrorObject", lastErrorObject);
        }
        result.put("value", returnDocument);
        Utils.markOkay(result);
        return result;
    }

    /** AbstractMongoCollection.updateDocuments for an update with operators; null: the library's own. */
    public static <P> Document updateDocuments(AbstractMongoCollection<P> collection, Document selector,
                                               Document updateQuery, ArrayFilters arrayFilters, boolean isMulti,
                                               boolean isUpsert, Oplog oplog) {
        if (!operatorsOnly(updateQuery)) {
            return null;
        }
        int nMatched = 0;
        List<Object> updatedIds = new ArrayList<>();
        for (Document document : collection.queryDocuments(selector, null, 0, 0, 0, null)) {
            Updated updated = update(collection, document, selector, updateQuery, arrayFilters);
            if (!sameNormalized(updated.before(), updated.now())) {
                updatedIds.add(updated.now().get(collection.getIdField()));
            }
            nMatched++;
            if (!isMulti) {
                break;
            }
        }
        Document result = new Document();
        if (nMatched == 0 && isUpsert) {
            if (!UPSERT_INSERTS) {
                return null; // an insert: 1.47.0's own code queries again, then inserts
            }
            Document newDocument = upsert(collection, selector, updateQuery, arrayFilters);
            result.put("upserted", newDocument.get(collection.getIdField()));
            oplog.handleInsert(collection.getFullName(), List.of(newDocument));
        } else {
            oplog.handleUpdate(collection.getFullName(), selector, updateQuery, updatedIds);
        }
        result.put("n", Integer.valueOf(nMatched));
        result.put("nModified", Integer.valueOf(updatedIds.size()));
        return result;
    }

    /** Upserts that insert without querying again (off: 1.47.0's updateDocuments runs the whole update again). */
    static final boolean UPSERT_INSERTS = !"0".equals(System.getenv("OMS_MONGO_UPSERT_INSERTS"));

    /**
     * AbstractMongoCollection.handleUpsert (private in 1.47.0): the document the selector describes, the
     * update applied to it as an upsert ($setOnInsert applies, _id may be set), its _id from the selector
     * when the update gave none, inserted. 1.47.0 got here only after running the query a second time (it
     * is handed the whole update back when nothing matched): an upsert that inserts - the order list's first
     * row of an order, a new customer's contact keys, a stale conditional write that then clashes on _id -
     * cost two queries (docs/notes.md, "standin5"). The selector's values are shared, not deep-copied, as
     * the update's own values are (the request is not used once answered).
     */
    private static <P> Document upsert(AbstractMongoCollection<P> collection, Document selector, Document updateQuery,
                                       ArrayFilters arrayFilters) {
        Document document = collection.convertSelectorToDocument(selector);
        Document newDocument = calculateUpdateDocument(collection, document, updateQuery, arrayFilters, null, true);
        newDocument.computeIfAbsent(collection.getIdField(), k -> collection.deriveDocumentId(selector));
        collection.addDocument(newDocument);
        return newDocument;
    }

    /** Compare the versions without normalised copies (off: 1.47.0's Utils.nullAwareEquals, for a before/after measurement). */
    static final boolean CHEAP_COMPARE = !"0".equals(System.getenv("OMS_MONGO_CHEAP_COMPARE"));

    /**
     * Utils.nullAwareEquals(a, b) - which is Objects.equals(normalizeValue(a), normalizeValue(b)), null and
     * Missing alike - without building the normalised copies. 1.47.0 counts an update's nModified that way:
     * it normalises both whole versions of every updated document into new Documents and lists (numbers as
     * doubles) and compares those, ~4 % of the stand-in's samples in the load bench and much of what it
     * allocated. Here the walk follows the same rules pairwise and stops at values the versions share (an
     * update here shares every value it does not reach), since a value equals itself once normalised.
     */
    static boolean sameNormalized(Object a, Object b) {
        if (!CHEAP_COMPARE) {
            return Utils.nullAwareEquals(a, b);
        }
        if (a == b) {
            return true;
        }
        boolean aNull = Missing.isNullOrMissing(a);
        boolean bNull = Missing.isNullOrMissing(b);
        if (aNull || bNull) {
            return aNull && bNull;
        }
        if (a instanceof Number || b instanceof Number) {
            return java.util.Objects.equals(Utils.normalizeValue(a), Utils.normalizeValue(b));
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            // normalised: two Documents, equal when their keys are the same in the same order and so are
            // their values (Document.equals)
            if (x.size() != y.size()) {
                return false;
            }
            java.util.Iterator<? extends Map.Entry<?, ?>> other = y.entrySet().iterator();
            for (Map.Entry<?, ?> entry : x.entrySet()) {
                Map.Entry<?, ?> that = other.next();
                if (!entry.getKey().equals(that.getKey()) || !sameNormalized(entry.getValue(), that.getValue())) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof java.util.Collection<?> x && b instanceof java.util.Collection<?> y) {
            // normalised: two lists, equal element by element
            if (x.size() != y.size()) {
                return false;
            }
            java.util.Iterator<?> other = y.iterator();
            for (Object element : x) {
                if (!sameNormalized(element, other.next())) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map || b instanceof Map || a instanceof java.util.Collection || b instanceof java.util.Collection) {
            return false; // a Document or a list against something else
        }
        return a.equals(b);
    }

    /** The stored document before the update, and the one stored after it (the same object when unchanged). */
    record Updated(Document before, Document now) {
    }

    /** AbstractMongoCollection.updateDocument on the stored document, which it leaves as it is. */
    private static <P> Updated update(AbstractMongoCollection<P> collection, Document stored, Document filter,
                                      Document updateQuery, ArrayFilters arrayFilters) {
        Integer matchPos = positional(updateQuery) ? new DefaultQueryMatcher().matchPosition(stored, filter) : null;
        Document newDocument = calculateUpdateDocument(collection, stored, updateQuery, arrayFilters, matchPos, false);
        if (newDocument.equals(stored)) {
            return new Updated(stored, stored);
        }
        for (Index<P> index : collection.getIndexes()) {
            index.checkUpdate(stored, newDocument, collection);
        }
        P position = singlePosition(collection, stored);
        for (Index<P> index : collection.getIndexes()) {
            index.updateInPlace(stored, newDocument, position, collection);
        }
        if (collection.tracksDataSize()) {
            collection.updateDataSize(Utils.calculateSize(newDocument) - Utils.calculateSize(stored));
        }
        // 1.47.0 writes the new values into the matched document: its fields keep their places, fields the
        // update removed go, new ones come last (in the order the update added them)
        for (String key : newDocument.keySet()) {
            if (key.contains(".")) {
                throw new MongoServerException("illegal field name. must not happen as it must be caught by the driver");
            }
        }
        Document now;
        String idField = collection.getIdField();
        if (!updateQuery.containsKey("$unset") && !updateQuery.containsKey("$rename")
            && (idField == null || (!stored.isEmpty() && stored.keySet().iterator().next().equals(idField)))) {
            // the new document is already in that order (it starts as the _id, then the stored fields in
            // their order, and the update appends what it adds; only $unset and $rename take a field out,
            // which a $rename can put back last): stored as it is, not copied once more
            now = newDocument;
        } else {
            now = stored.clone();
            now.keySet().retainAll(newDocument.keySet());
            now.putAll(newDocument);
        }
        collection.handleUpdate(position, stored, now);
        return new Updated(stored, now);
    }

    /** Whether a path of the update has a positional element ($, $[], $[id]): only then is the match position read. */
    private static boolean positional(Document updateQuery) {
        for (Object change : updateQuery.values()) {
            if (change instanceof Document fields) {
                for (String path : fields.keySet()) {
                    if (path.indexOf('$') >= 0) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /**
     * AbstractMongoCollection.calculateUpdateDocument for operators: the new document starts as the stored
     * one's fields (its _id first) with every container on an updated path copied, then each operator is
     * applied by 1.47.0's FieldUpdates.
     */
    private static <P> Document calculateUpdateDocument(AbstractMongoCollection<P> collection, Document stored,
                                                        Document update, ArrayFilters arrayFilters, Integer matchPos,
                                                        boolean isUpsert) {
        String idField = collection.getIdField();
        Document newDocument = new Document();
        if (idField != null) {
            newDocument.put(idField, stored.get(idField));
        }
        validateUpdateQuery(update);
        newDocument.putAll(stored);
        for (Map.Entry<String, Object> entry : update.entrySet()) {
            if (entry.getValue() instanceof Document change) {
                boolean renames = entry.getKey().equals("$rename");
                for (Map.Entry<String, Object> field : change.entrySet()) {
                    copyPath(newDocument, field.getKey());
                    if (renames && field.getValue() instanceof String target) {
                        copyPath(newDocument, target);
                    }
                }
            }
        }
        for (String modifier : update.keySet()) {
            Document change = (Document) update.get(modifier);
            UpdateOperator operator;
            try {
                operator = UpdateOperator.fromValue(modifier);
            } catch (IllegalArgumentException e) {
                throw new FailedToParseException("Unknown modifier: " + modifier
                    + ". Expected a valid update modifier or pipeline-style update specified as an array");
            }
            if (PLAIN_PATHS && arrayFilters.isEmpty() && applyPlainly(newDocument, operator, change, idField, isUpsert)) {
                continue;
            }
            new FieldUpdates(newDocument, operator, idField, isUpsert, matchPos, arrayFilters).apply(change, modifier);
        }
        Utils.validateFieldNames(newDocument);
        return newDocument;
    }

    /**
     * AbstractMongoCollection.validateUpdateQuery - two paths of one update may not be the same or one a
     * prefix of the other, name by name - without splitting paths where no conflict can be: the library
     * splits both paths (a regular expression into a stream and a list) whenever one string starts with
     * the other, as "status" and "status_changed_at" do in every order save. A pair where the longer path
     * goes on after the shorter with anything but a dot, the shorter not ending in one, are different
     * names; any other pair that starts alike (the same path, "a" and "a.b", "a." and "a.b") is left to
     * the library's check, which then runs over the whole update and raises its own error. Off with
     * OMS_MONGO_PLAIN_PATHS=0.
     */
    static void validateUpdateQuery(Document update) {
        if (!PLAIN_PATHS) {
            AbstractMongoCollection.validateUpdateQuery(update);
            return;
        }
        List<String> paths = new ArrayList<>();
        for (Map.Entry<String, Object> entry : update.entrySet()) {
            if (!(entry.getValue() instanceof Document change)) {
                // MongoDB's answer (FailedToParse); the library's own check failed on the cast with an internal error.
                throw new FailedToParseException("Modifiers operate on fields but we found type "
                    + (entry.getValue() == null ? "null" : entry.getValue().getClass().getSimpleName())
                    + " instead. For example: {$mod: {<field>: ...}} not {" + entry.getKey() + ": " + entry.getValue() + "}");
            }
            for (String path : change.keySet()) {
                for (String other : paths) {
                    if (mayConflict(path, other)) {
                        AbstractMongoCollection.validateUpdateQuery(update);
                        return;
                    }
                }
                paths.add(path);
            }
        }
    }

    private static boolean mayConflict(String a, String b) {
        String shorter = a.length() <= b.length() ? a : b;
        String longer = shorter == a ? b : a;
        if (!longer.startsWith(shorter)) {
            return false;
        }
        return longer.length() == shorter.length() || shorter.endsWith(".") || longer.charAt(shorter.length()) == '.';
    }

    /** $set, $inc and $push on plain paths without FieldUpdates (off: FieldUpdates for every operator, for a before/after measurement). */
    static final boolean PLAIN_PATHS = !"0".equals(System.getenv("OMS_MONGO_PLAIN_PATHS"));

    /**
     * FieldUpdates.apply for a $set, an $inc or a $push whose every path is plain - field names joined by
     * dots, no '$', no empty name, each name before the last naming a document - and can be applied without
     * an error; false (nothing changed) for anything else, which FieldUpdates then applies as 1.47.0 does.
     * The same steps as FieldUpdates.handleSet, handleIncMul and handlePush (with $each and $slice only), on
     * such paths: FieldUpdates reads and
     * writes a path by splitting it with a regular expression into a stream, three times per field
     * (ArrayFilters.canHandle, getSubdocumentValue, Utils.changeSubdocumentValue): with the other path
     * splits, a quarter of what the stand-in allocated under load (docs/notes.md, "standin4"). Without
     * array filters and positional elements a path reaches the same value both ways.
     */
    static boolean applyPlainly(Document document, UpdateOperator operator, Document change, String idField,
                                boolean isUpsert) {
        if (operator == UpdateOperator.SET_ON_INSERT) {
            if (!isUpsert) {
                return false; // FieldUpdates ignores it, after its checks
            }
            operator = UpdateOperator.SET; // FieldUpdates.apply: $setOnInsert falls through to $set when inserting
        }
        if (operator != UpdateOperator.SET && operator != UpdateOperator.INC && operator != UpdateOperator.PUSH) {
            return false;
        }
        int fields = change.size();
        Document[] parents = new Document[fields];
        String[] names = new String[fields];
        int i = 0;
        for (Map.Entry<String, Object> entry : change.entrySet()) {
            String key = entry.getKey();
            if (key.equals(idField) || key.indexOf('$') >= 0) {
                return false; // FieldUpdates' own checks and errors (the immutable _id, positional elements)
            }
            Document parent = document;
            int from = 0;
            int dot;
            while ((dot = key.indexOf('.', from)) >= 0) {
                if (dot == from || !(parent.get(key.substring(from, dot)) instanceof Document next)) {
                    return false; // an empty name, or a path through a missing value, an array or a scalar
                }
                parent = next;
                from = dot + 1;
            }
            if (from == key.length()) {
                return false;
            }
            String name = from == 0 ? key : key.substring(from);
            if (operator == UpdateOperator.INC) {
                Object value = parent.getOrMissing(name);
                if (!(entry.getValue() instanceof Number) || !(Missing.isNullOrMissing(value) || value instanceof Number)) {
                    return false; // FieldUpdates raises its type errors
                }
            } else if (operator == UpdateOperator.PUSH) {
                Object value = parent.getOrMissing(name);
                if (!(Missing.isNullOrMissing(value) || value instanceof List) || !plainPush(entry.getValue())) {
                    return false; // not an array (an error), or $sort, $position, a clause FieldUpdates refuses
                }
            }
            parents[i] = parent;
            names[i] = name;
            i++;
        }
        i = 0;
        for (Object value : change.values()) {
            Document parent = parents[i];
            String name = names[i];
            i++;
            Object old = parent.getOrMissing(name);
            if (operator == UpdateOperator.SET) {
                // handleSet: no change when equal as 1.47.0 compares (null and missing alike), unless missing
                if (sameNormalized(value, old) && !(old instanceof Missing && !(value instanceof Missing))) {
                    continue;
                }
                parent.put(name, value);
            } else if (operator == UpdateOperator.INC) {
                Number number = Missing.isNullOrMissing(old) ? Integer.valueOf(0) : (Number) old;
                parent.put(name, NumericUtils.addNumbers(number, (Number) value));
            } else {
                parent.put(name, pushed(old, value));
            }
        }
        return true;
    }

    /** A $push's value FieldUpdates.handlePush takes without an error: a value, or {$each: [...]} with a numeric $slice. */
    private static boolean plainPush(Object change) {
        if (!(change instanceof Document push) || !push.containsKey("$each")) {
            return true;
        }
        for (Map.Entry<String, Object> clause : push.entrySet()) {
            boolean plain = switch (clause.getKey()) {
                case "$each" -> clause.getValue() instanceof java.util.Collection;
                case "$slice" -> clause.getValue() instanceof Number;
                default -> false;
            };
            if (!plain) {
                return false;
            }
        }
        return true;
    }

    /** FieldUpdates.handlePush's new array for a plainPush value: appended, then sliced (a new list either way). */
    private static List<Object> pushed(Object existing, Object change) {
        List<Object> values = new ArrayList<>();
        Integer slice = null;
        if (change instanceof Document push && push.containsKey("$each")) {
            for (Map.Entry<String, Object> clause : push.entrySet()) {
                if (clause.getKey().equals("$each")) {
                    values.addAll((java.util.Collection<?>) clause.getValue());
                } else {
                    slice = ((Number) clause.getValue()).intValue();
                }
            }
        } else {
            values.add(change);
        }
        @SuppressWarnings("unchecked")
        List<Object> newValue = Missing.isNullOrMissing(existing) ? new ArrayList<>() : new ArrayList<>((List<Object>) existing);
        newValue.addAll(values);
        if (slice != null) {
            int size = newValue.size();
            newValue = new ArrayList<>(slice < 0 ? newValue.subList(Math.max(0, size + slice), size)
                : newValue.subList(0, Math.min(slice, size)));
        }
        return newValue;
    }

    /** Utils.normalizeValue, for the launcher's index keys (outside this package). */
    public static Object normalizedValue(Object value) {
        return Utils.normalizeValue(value);
    }

    /** The library's Projection of a query's field selector, for the launcher's own matching loop. */
    public static java.util.function.UnaryOperator<Document> projection(Document fieldSelector, String idField) {
        Projection projection = new Projection(fieldSelector, idField);
        return projection::projectDocument;
    }

    /**
     * Gives the new document its own copy of every container an update of this path may change: each
     * document or array on the way and the value at its end (shallow copies; what they hold stays shared).
     * Where the path goes on by a positional element ($, $[], $[id]: 1.47.0 reads it as an index into an array
     * or a document) or into an array's elements by a field name (which 1.47.0 applies to each element), the
     * values of the container there are copied deeply, as 1.47.0 copies everything.
     */
    static void copyPath(Document newDocument, String path) {
        Object container = newDocument;
        String[] segments = path.split("\\.", -1);
        for (String segment : segments) {
            if (segment.startsWith("$")) {
                // a positional element: 1.47.0 reads it as an index (the match position, or each array filter's
                // matches) into whatever is there, an array or a document, and changes what it finds in place
                copyValuesDeeply(container);
                return;
            }
            Object child;
            if (container instanceof Document document) {
                child = document.get(segment);
                Object copy = shallowCopy(child);
                if (copy == null) {
                    return;
                }
                document.put(segment, copy);
                container = copy;
            } else if (container instanceof List<?> list) {
                @SuppressWarnings("unchecked")
                List<Object> elements = (List<Object>) list;
                int index = arrayIndex(segment);
                if (index < 0) {
                    copyValuesDeeply(elements);
                    return;
                }
                if (index >= elements.size()) {
                    return;
                }
                Object copy = shallowCopy(elements.get(index));
                if (copy == null) {
                    return;
                }
                elements.set(index, copy);
                container = copy;
            } else {
                return;
            }
        }
    }

    /** Replaces every value of a (copied) document or array by a deep copy of it. */
    private static void copyValuesDeeply(Object container) {
        if (container instanceof Document document) {
            document.replaceAll((key, value) -> deepCopy(value));
        } else if (container instanceof List<?> list) {
            @SuppressWarnings("unchecked")
            List<Object> elements = (List<Object>) list;
            elements.replaceAll(OmsSharedUpdates::deepCopy);
        }
    }

    /** A deep copy, as Document.cloneDeeply copies each value (documents, arrays and sets; the rest shared). */
    private static Object deepCopy(Object value) {
        if (value instanceof Document document) {
            return document.cloneDeeply();
        }
        if (value instanceof List<?> list) {
            List<Object> copy = new ArrayList<>(list.size());
            list.forEach(element -> copy.add(deepCopy(element)));
            return copy;
        }
        if (value instanceof Set<?> set) {
            Set<Object> copy = new LinkedHashSet<>();
            set.forEach(element -> copy.add(deepCopy(element)));
            return copy;
        }
        return value;
    }

    /** An array element's index as a path names it (digits only, as 1.47.0 reads it), or -1. */
    private static int arrayIndex(String segment) {
        if (segment.isEmpty() || segment.length() > 9) {
            return -1;
        }
        for (int i = 0; i < segment.length(); i++) {
            if (!Character.isDigit(segment.charAt(i))) {
                return -1;
            }
        }
        return Integer.parseInt(segment);
    }

    /** A copy of a document or an array, its values shared; null for anything else (nothing to copy). */
    private static Object shallowCopy(Object value) {
        if (value instanceof Document document) {
            return new Document(document); // Document.clone copies its map twice (a clone, then putAll)
        }
        if (value instanceof List<?> list) {
            return new ArrayList<>(list);
        }
        if (value instanceof Set<?> set) {
            return new LinkedHashSet<>(set);
        }
        return null;
    }

    /** AbstractMongoCollection.getSinglePosition. */
    private static <P> P singlePosition(AbstractMongoCollection<P> collection, Document document) {
        List<Index<P>> indexes = collection.getIndexes();
        if (indexes.isEmpty()) {
            return collection.findDocumentPosition(document);
        }
        Set<P> positions = new LinkedHashSet<>();
        for (Index<P> index : indexes) {
            P position = index.getPosition(document);
            if (position != null) {
                positions.add(position);
            }
        }
        return CollectionUtils.getSingleElement(positions);
    }
}
