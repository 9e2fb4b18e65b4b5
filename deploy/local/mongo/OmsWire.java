import java.io.IOException;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.MessageToByteEncoder;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoThreadFactory;
import de.bwaldvogel.mongo.backend.Assert;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.wire.BsonConstants;
import de.bwaldvogel.mongo.wire.MessageFlag;
import de.bwaldvogel.mongo.wire.MongoDatabaseHandler;
import de.bwaldvogel.mongo.wire.MongoExceptionHandler;
import de.bwaldvogel.mongo.wire.MongoWireProtocolHandler;
import de.bwaldvogel.mongo.wire.MongoWireReplyEncoder;
import de.bwaldvogel.mongo.wire.OpCode;
import de.bwaldvogel.mongo.wire.QueryFlag;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import de.bwaldvogel.mongo.wire.message.MessageHeader;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import de.bwaldvogel.mongo.wire.message.MongoQuery;

/**
 * The stand-in's wire codec: the same messages and the same BSON as mongo-java-server 1.47.0's
 * (MongoWireProtocolHandler, MongoWireMessageEncoder, BsonDecoder, BsonEncoder), with less work per
 * round trip and fewer objects per stored document (docs/notes.md, "standin3"; ADR 0001):
 *
 * - field names are decoded into one shared String per name (a table looked up by the name's bytes),
 *   so a stored document no longer carries its own copy of every field name - a third of the cached
 *   documents' heap and of what the collector copied - and the encoder finds a name's bytes in the same
 *   table instead of encoding the String again;
 * - an array is decoded straight into its list (1.47.0 builds a Document keyed "0", "1", ... first and
 *   copies it) and encoded with its index names from a table (1.47.0 builds that Document again);
 * - documents are encoded entry by entry (1.47.0 looks every key up again), strings decoded from one
 *   scratch copy of their bytes.
 *
 * Every value type other than documents, arrays and strings still goes through 1.47.0's own
 * BsonDecoder.decodeValue / BsonEncoder.encodeValue, so those bytes are its bytes. OMS_MONGO_WIRE_CODEC=0
 * gives 1.47.0's codec back (for a before/after measurement and the differential test).
 */
final class OmsWire {

    static final boolean ENABLED = !"0".equals(System.getenv("OMS_MONGO_WIRE_CODEC"));

    private OmsWire() {
    }

    // ---- shared field names -------------------------------------------------------------------------

    /** A name and its UTF-8 bytes; published through the table by its final fields. */
    private static final class Name {
        final String string;
        final byte[] bytes;

        Name(String string, byte[] bytes) {
            this.string = string;
            this.bytes = bytes;
        }
    }

    private static final int MAX_NAME = 48;
    private static final int NAME_SLOTS = 1 << 14;
    // Direct-mapped by the name's hash (String.hashCode, which for ASCII is the hash of its bytes), racy on
    // purpose: a slot holds the last name that fell on it; a lost race only costs a String.
    private static final Name[] NAMES = new Name[NAME_SLOTS];

    /** A field name from `length` bytes of b at `from`, shared when it is short and ASCII. */
    private static String name(byte[] b, int from, int length) {
        if (length > MAX_NAME) {
            return new String(b, from, length, StandardCharsets.UTF_8);
        }
        int hash = 0;
        for (int i = from; i < from + length; i++) {
            byte c = b[i];
            if (c < 0) {
                return new String(b, from, length, StandardCharsets.UTF_8); // not ASCII: not shared
            }
            hash = 31 * hash + c;
        }
        int slot = hash & (NAME_SLOTS - 1);
        Name found = NAMES[slot];
        if (found != null && found.bytes.length == length
            && Arrays.equals(found.bytes, 0, length, b, from, from + length)) {
            return found.string;
        }
        String string = new String(b, from, length, StandardCharsets.ISO_8859_1);
        NAMES[slot] = new Name(string, Arrays.copyOfRange(b, from, from + length));
        return string;
    }

    /** The shared instance of a name, if the table holds this very String (for the cache's size estimate). */
    static boolean isShared(String name) {
        Name found = NAMES[name.hashCode() & (NAME_SLOTS - 1)];
        return found != null && found.string == name;
    }

    /** A name's UTF-8 bytes: from the table when it holds the name, else encoded (and kept when ASCII and short). */
    private static byte[] nameBytes(String name) {
        int slot = name.hashCode() & (NAME_SLOTS - 1);
        Name found = NAMES[slot];
        if (found != null && (found.string == name || found.string.equals(name))) {
            return found.bytes;
        }
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= MAX_NAME && bytes.length == name.length() && ascii(bytes)) {
            NAMES[slot] = new Name(name, bytes);
        }
        return bytes;
    }

    private static boolean ascii(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0) {
                return false;
            }
        }
        return true;
    }

    // ---- decoding ----------------------------------------------------------------------------------
    //
    // A document's bytes are copied once from the ByteBuf into a scratch array and read from there: C1
    // (ADR 0033) calls every ByteBuf read through a virtual call (several buffer classes are loaded),
    // per byte of a name and per value.

    /** A thread's scratch: the bytes being read or written, and where. */
    private static final class Scratch {
        byte[] bytes = new byte[1 << 14];
        int pos;

        void ensure(int more) {
            if (pos + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, pos + more));
            }
        }

        /** Drop a buffer grown for one rare large document. */
        void trim() {
            if (bytes.length > 1 << 20) {
                bytes = new byte[1 << 14];
            }
        }
    }

    private static final ThreadLocal<Scratch> READING = ThreadLocal.withInitial(Scratch::new);
    private static final ThreadLocal<Scratch> WRITING = ThreadLocal.withInitial(Scratch::new);

    /** A BSON document, as BsonDecoder.decodeBson reads it (same checks, same values). */
    static Document decodeDocument(ByteBuf buffer) {
        if (!ENABLED) {
            return BsonDecoder.decodeBson(buffer);
        }
        int start = buffer.readerIndex();
        final int totalObjectLength = buffer.getIntLE(start);
        final int length = totalObjectLength - 4;
        if (buffer.readableBytes() - 4 < length) {
            throw new IllegalArgumentException("Too few bytes to read: " + (buffer.readableBytes() - 4) + ". Expected: " + length);
        }
        if (length > BsonConstants.MAX_BSON_OBJECT_SIZE) {
            throw new IllegalArgumentException("BSON object too large: " + length + " bytes");
        }
        Scratch in = READING.get();
        if (in.pos != 0) {
            in = new Scratch(); // re-entered (not expected): a scratch of its own
        }
        try {
            in.ensure(totalObjectLength);
            buffer.getBytes(start, in.bytes, 0, totalObjectLength);
            Document document = readDocument(in, totalObjectLength);
            buffer.skipBytes(in.pos);
            return document;
        } finally {
            in.pos = 0;
            in.trim();
        }
    }

    private static int intLE(byte[] b, int i) {
        return (b[i] & 0xff) | (b[i + 1] & 0xff) << 8 | (b[i + 2] & 0xff) << 16 | (b[i + 3] & 0xff) << 24;
    }

    private static long longLE(byte[] b, int i) {
        return (intLE(b, i) & 0xffffffffL) | ((long) intLE(b, i + 4)) << 32;
    }

    /** Where a document read at in.pos ends; its length checked against what is there (`limit`). */
    private static int documentEnd(Scratch in, int limit) {
        if (limit - in.pos < 4) {
            throw new IndexOutOfBoundsException("readerIndex(" + in.pos + ") + length(4) exceeds writerIndex(" + limit + ")");
        }
        final int totalObjectLength = intLE(in.bytes, in.pos);
        final int length = totalObjectLength - 4;
        in.pos += 4;
        if (limit - in.pos < length) {
            throw new IllegalArgumentException("Too few bytes to read: " + (limit - in.pos) + ". Expected: " + length);
        }
        if (length > BsonConstants.MAX_BSON_OBJECT_SIZE) {
            throw new IllegalArgumentException("BSON object too large: " + length + " bytes");
        }
        return in.pos + length;
    }

    private static Document readDocument(Scratch in, int limit) {
        int start = in.pos;
        int end = documentEnd(in, limit);
        int totalObjectLength = end - start;
        Document document = new Document();
        byte[] b = in.bytes;
        while (in.pos < end) {
            byte type = b[in.pos++];
            if (type == BsonConstants.TERMINATING_BYTE) {
                return document;
            }
            String name = readName(in, end);
            Object value = readValue(type, in, end);
            Object existingValue = document.put(name, value);
            if (existingValue != null) {
                throw new IllegalArgumentException("Document already contains field '" + name + "'");
            }
        }
        throw new IllegalArgumentException("illegal BSON object. Terminating byte not found. totalObjectLength = " + totalObjectLength);
    }

    /**
     * An array: its elements in order, as 1.47.0's decodeArray answers them (it decodes the array as a
     * document keyed "0", "1", ... and copies its values into a list; the keys themselves are not read).
     */
    private static List<Object> readArray(Scratch in, int limit) {
        int start = in.pos;
        int end = documentEnd(in, limit);
        List<Object> array = new ArrayList<>();
        byte[] b = in.bytes;
        while (in.pos < end) {
            byte type = b[in.pos++];
            if (type == BsonConstants.TERMINATING_BYTE) {
                return array;
            }
            in.pos = nul(b, in.pos, end) + 1;
            array.add(readValue(type, in, end));
        }
        throw new IllegalArgumentException("illegal BSON object. Terminating byte not found. totalObjectLength = " + (end - start));
    }

    private static int nul(byte[] b, int from, int end) {
        for (int i = from; i < end; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        throw new IllegalArgumentException("string termination not found");
    }

    private static String readName(Scratch in, int end) {
        byte[] b = in.bytes;
        int from = in.pos;
        int to = nul(b, from, end);
        in.pos = to + 1;
        return name(b, from, to - from);
    }

    private static Object readValue(byte type, Scratch in, int end) {
        byte[] b = in.bytes;
        int at = in.pos;
        switch (type) {
            case BsonConstants.TYPE_UTF8_STRING: {
                check(at, 4, end);
                int length = intLE(b, at) - 1;
                if (length < 0) {
                    throw new NegativeArraySizeException(String.valueOf(length)); // as 1.47.0's new byte[length]
                }
                check(at + 4, length + 1L, end);
                String value = new String(b, at + 4, length, StandardCharsets.UTF_8);
                byte trail = b[at + 4 + length];
                if (trail != BsonConstants.STRING_TERMINATION) {
                    throw new IllegalArgumentException("Unexpected trailing byte: " + trail);
                }
                in.pos = at + 5 + length;
                return value;
            }
            case BsonConstants.TYPE_EMBEDDED_DOCUMENT:
                return readDocument(in, end);
            case BsonConstants.TYPE_ARRAY:
                return readArray(in, end);
            case BsonConstants.TYPE_INT32:
                check(at, 4, end);
                in.pos = at + 4;
                return Integer.valueOf(intLE(b, at));
            case BsonConstants.TYPE_INT64:
                check(at, 8, end);
                in.pos = at + 8;
                return Long.valueOf(longLE(b, at));
            case BsonConstants.TYPE_DOUBLE:
                check(at, 8, end);
                in.pos = at + 8;
                return Double.valueOf(Double.longBitsToDouble(longLE(b, at)));
            case BsonConstants.TYPE_UTC_DATETIME:
                check(at, 8, end);
                in.pos = at + 8;
                return Instant.ofEpochMilli(longLE(b, at));
            case BsonConstants.TYPE_BOOLEAN:
                check(at, 1, end);
                in.pos = at + 1;
                if (b[at] == BsonConstants.BOOLEAN_VALUE_TRUE) {
                    return Boolean.TRUE;
                }
                if (b[at] == BsonConstants.BOOLEAN_VALUE_FALSE) {
                    return Boolean.FALSE;
                }
                throw new IllegalArgumentException("Illegal boolean value:" + b[at]);
            case BsonConstants.TYPE_UNDEFINED:
            case BsonConstants.TYPE_NULL:
                return null;
            case BsonConstants.TYPE_OBJECT_ID:
                check(at, BsonConstants.LENGTH_OBJECTID, end);
                in.pos = at + BsonConstants.LENGTH_OBJECTID;
                return new ObjectId(Arrays.copyOfRange(b, at, at + BsonConstants.LENGTH_OBJECTID));
            default: {
                // every other type as 1.47.0 reads it, from a view of the same bytes
                ByteBuf view = Unpooled.wrappedBuffer(b, at, end - at);
                Object value = BsonDecoder.decodeValue(type, view);
                in.pos = at + view.readerIndex();
                return value;
            }
        }
    }

    /** What a read past the document's end raises (a ByteBuf would raise it past the message's end). */
    private static void check(int at, long length, int end) {
        if (at + length > end) {
            throw new IndexOutOfBoundsException("readerIndex(" + at + ") + length(" + length + ") exceeds writerIndex(" + end + ")");
        }
    }

    // ---- encoding -----------------------------------------------------------------------------------
    //
    // Into the thread's scratch array, then one copy into the ByteBuf (the same reason as above).

    private static final byte[][] INDEXES = new byte[1000][];

    static {
        for (int i = 0; i < INDEXES.length; i++) {
            INDEXES[i] = String.valueOf(i).getBytes(StandardCharsets.US_ASCII);
        }
    }

    /** A document as BsonEncoder.encodeDocument writes it (the same bytes). */
    static void encodeDocument(Map<String, ?> document, ByteBuf out) {
        if (!ENABLED) {
            BsonEncoder.encodeDocument(document, out);
            return;
        }
        Scratch scratch = WRITING.get();
        if (scratch.pos != 0) {
            scratch = new Scratch(); // re-entered (not expected): a scratch of its own
        }
        try {
            writeDocument(document, scratch);
            out.writeBytes(scratch.bytes, 0, scratch.pos);
        } finally {
            scratch.pos = 0;
            scratch.trim();
        }
    }

    private static void putIntLE(byte[] b, int i, int v) {
        b[i] = (byte) v;
        b[i + 1] = (byte) (v >>> 8);
        b[i + 2] = (byte) (v >>> 16);
        b[i + 3] = (byte) (v >>> 24);
    }

    private static void putLongLE(byte[] b, int i, long v) {
        putIntLE(b, i, (int) v);
        putIntLE(b, i + 4, (int) (v >>> 32));
    }

    private static void writeDocument(Map<String, ?> document, Scratch out) {
        out.ensure(5);
        int start = out.pos;
        out.pos += 4; // total number of bytes, written at the end
        for (Map.Entry<String, ?> entry : document.entrySet()) {
            writeValue(nameBytes(entry.getKey()), entry.getValue(), out);
        }
        out.ensure(1);
        out.bytes[out.pos++] = BsonConstants.TERMINATING_BYTE;
        putIntLE(out.bytes, start, out.pos - start);
    }

    private static void writeArray(Collection<?> values, Scratch out) {
        out.ensure(5);
        int start = out.pos;
        out.pos += 4;
        int i = 0;
        for (Object value : values) {
            writeValue(i < INDEXES.length ? INDEXES[i] : String.valueOf(i).getBytes(StandardCharsets.US_ASCII), value, out);
            i++;
        }
        out.ensure(1);
        out.bytes[out.pos++] = BsonConstants.TERMINATING_BYTE;
        putIntLE(out.bytes, start, out.pos - start);
    }

    private static void writeValue(byte[] name, Object value, Scratch out) {
        byte type = BsonEncoder.determineType(value);
        out.ensure(name.length + 2 + 16);
        byte[] b = out.bytes;
        int at = out.pos;
        b[at++] = type;
        System.arraycopy(name, 0, b, at, name.length);
        at += name.length;
        b[at++] = BsonConstants.STRING_TERMINATION;
        out.pos = at;
        switch (type) {
            case BsonConstants.TYPE_UTF8_STRING:
                writeString(value.toString(), out);
                return;
            case BsonConstants.TYPE_EMBEDDED_DOCUMENT: {
                @SuppressWarnings("unchecked")
                Map<String, ?> map = (Map<String, ?>) value;
                writeDocument(map, out);
                return;
            }
            case BsonConstants.TYPE_ARRAY:
                writeArray((Collection<?>) value, out);
                return;
            case BsonConstants.TYPE_INT32:
                putIntLE(b, at, ((Integer) value).intValue());
                out.pos = at + 4;
                return;
            case BsonConstants.TYPE_INT64:
                putLongLE(b, at, ((Long) value).longValue());
                out.pos = at + 8;
                return;
            case BsonConstants.TYPE_DOUBLE:
                putLongLE(b, at, Double.doubleToRawLongBits(((Double) value).doubleValue()));
                out.pos = at + 8;
                return;
            case BsonConstants.TYPE_UTC_DATETIME:
                putLongLE(b, at, ((Instant) value).toEpochMilli());
                out.pos = at + 8;
                return;
            case BsonConstants.TYPE_BOOLEAN:
                b[at] = ((Boolean) value).booleanValue() ? BsonConstants.BOOLEAN_VALUE_TRUE : BsonConstants.BOOLEAN_VALUE_FALSE;
                out.pos = at + 1;
                return;
            case BsonConstants.TYPE_NULL:
                return;
            case BsonConstants.TYPE_OBJECT_ID: {
                byte[] bytes = ((ObjectId) value).toByteArray();
                if (bytes.length != BsonConstants.LENGTH_OBJECTID) {
                    throw new IllegalArgumentException("Illegal ObjectId: " + value);
                }
                System.arraycopy(bytes, 0, b, at, bytes.length);
                out.pos = at + bytes.length;
                return;
            }
            default: {
                // every other type as 1.47.0 writes it
                ByteBuf bytes = Unpooled.buffer(32);
                BsonEncoder.encodeValue(type, value, bytes);
                int length = bytes.readableBytes();
                out.ensure(length);
                bytes.readBytes(out.bytes, out.pos, length);
                out.pos += length;
            }
        }
    }

    /**
     * Longer strings are encoded by String.getBytes at once: walking one by charAt until a non-ASCII char
     * turned up cost most on the strings it did turn up in - an email's text and HTML, ASCII for hundreds
     * of chars before the first Cyrillic one, then encoded again - each char a call into StringUTF16 under
     * C1 (a tenth of the stand-in's Java samples under load, most in H2's page writes: docs/notes.md,
     * "standin5"). The same bytes either way: UTF-8.
     */
    static final int WALKED_UP_TO = 32;

    /** A string as 1.47.0 writes it (its UTF-8 bytes, as String.getBytes makes them); short ASCII copied char by char. */
    private static void writeString(String value, Scratch out) {
        int length = value.length();
        if (length > WALKED_UP_TO) {
            byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
            out.ensure(bytes.length + 5);
            byte[] b = out.bytes;
            putIntLE(b, out.pos, bytes.length + 1);
            System.arraycopy(bytes, 0, b, out.pos + 4, bytes.length);
            out.pos += 4 + bytes.length;
            b[out.pos++] = BsonConstants.STRING_TERMINATION;
            return;
        }
        out.ensure(length + 5);
        byte[] b = out.bytes;
        int at = out.pos + 4;
        for (int i = 0; i < length; i++) {
            char c = value.charAt(i);
            if (c >= 0x80) {
                byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
                out.ensure(bytes.length + 5);
                b = out.bytes;
                putIntLE(b, out.pos, bytes.length + 1);
                System.arraycopy(bytes, 0, b, out.pos + 4, bytes.length);
                out.pos += 4 + bytes.length;
                b[out.pos++] = BsonConstants.STRING_TERMINATION;
                return;
            }
            b[at++] = (byte) c;
        }
        putIntLE(b, out.pos, length + 1);
        b[at++] = BsonConstants.STRING_TERMINATION;
        out.pos = at;
    }

    // ---- the wire -----------------------------------------------------------------------------------

    /**
     * MongoWireProtocolHandler's decode (OP_QUERY and OP_MSG, the same checks and errors) with the codec
     * above. 1.47.0 sets its handler up inside MongoServer.bind without a hook, hence Server below.
     */
    static final class Decoder extends ByteToMessageDecoder {
        private static final int LENGTH_FIELD_LENGTH = 4;
        private static final int CHECKSUM_LENGTH = 4;

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
            while (in.readableBytes() >= 4) {
                in.markReaderIndex();
                int totalLength = in.readIntLE();
                if (totalLength > MongoWireProtocolHandler.MAX_MESSAGE_SIZE_BYTES) {
                    throw new IOException("message too large: " + totalLength + " bytes");
                }
                if (in.readableBytes() < totalLength - LENGTH_FIELD_LENGTH) {
                    in.resetReaderIndex();
                    return; // the rest of the message is still to come
                }
                out.add(decodeMessage(ctx.channel(), totalLength, in.readSlice(totalLength - LENGTH_FIELD_LENGTH)));
            }
        }

        private static Object decodeMessage(Channel channel, int totalLength, ByteBuf in) throws IOException {
            final int requestID = in.readIntLE();
            final int responseTo = in.readIntLE();
            final MessageHeader header = new MessageHeader(totalLength, requestID, responseTo);
            int opCodeId = in.readIntLE();
            OpCode opCode = OpCode.getById(opCodeId);
            if (opCode == null) {
                throw new IOException("opCode " + opCodeId + " not supported");
            }
            Object request;
            switch (opCode) {
                case OP_QUERY:
                    request = query(channel, header, in);
                    break;
                case OP_MSG:
                    request = message(channel, header, in);
                    break;
                default:
                    throw new UnsupportedOperationException("unsupported opcode: " + opCode);
            }
            if (in.isReadable()) {
                throw new IOException();
            }
            return request;
        }

        private static MongoQuery query(Channel channel, MessageHeader header, ByteBuf buffer) {
            int flags = buffer.readIntLE();
            final String fullCollectionName = BsonDecoder.decodeCString(buffer);
            final int numberToSkip = buffer.readIntLE();
            final int numberToReturn = buffer.readIntLE();
            Document query = decodeDocument(buffer);
            Document returnFieldSelector = buffer.isReadable() ? decodeDocument(buffer) : null;
            MongoQuery mongoQuery = new MongoQuery(channel, header, fullCollectionName, numberToSkip, numberToReturn,
                query, returnFieldSelector);
            if (QueryFlag.SLAVE_OK.isSet(flags)) {
                flags = QueryFlag.SLAVE_OK.removeFrom(flags);
            }
            if (QueryFlag.NO_CURSOR_TIMEOUT.isSet(flags)) {
                flags = QueryFlag.NO_CURSOR_TIMEOUT.removeFrom(flags);
            }
            if (flags != 0) {
                throw new UnsupportedOperationException("flags=" + flags + " not yet supported");
            }
            return mongoQuery;
        }

        private static MongoMessage message(Channel channel, MessageHeader header, ByteBuf buffer) {
            int flagBits = buffer.readIntLE();
            boolean checksum = MessageFlag.CHECKSUM_PRESENT.isSet(flagBits);
            if (checksum) {
                flagBits = MessageFlag.CHECKSUM_PRESENT.removeFrom(flagBits);
            }
            if (flagBits != 0) {
                throw new UnsupportedOperationException("flags=" + flagBits + " not yet supported");
            }
            int expectedPayloadSize = header.getTotalLength() - LENGTH_FIELD_LENGTH;
            if (checksum) {
                expectedPayloadSize -= CHECKSUM_LENGTH;
            }
            Document body = null;
            Document documentSequence = null;
            while (buffer.readerIndex() < expectedPayloadSize) {
                byte sectionKind = buffer.readByte();
                switch (sectionKind) {
                    case MongoMessage.SECTION_KIND_BODY:
                        Assert.isNull(body);
                        body = decodeDocument(buffer);
                        break;
                    case MongoMessage.SECTION_KIND_DOCUMENT_SEQUENCE:
                        if (documentSequence == null) {
                            documentSequence = new Document();
                        }
                        decodeDocumentSequence(buffer, documentSequence);
                        break;
                    default:
                        throw new IllegalArgumentException("Unexpected section kind: " + sectionKind);
                }
            }
            if (checksum) {
                buffer.readIntLE(); // ignored, as 1.47.0 does
            }
            Assert.notNull(body);
            if (documentSequence != null) {
                for (Map.Entry<String, Object> entry : documentSequence.entrySet()) {
                    Object old = body.put(entry.getKey(), entry.getValue());
                    Assert.isNull(old);
                }
            }
            return new MongoMessage(channel, header, body);
        }

        private static void decodeDocumentSequence(ByteBuf buffer, Document documentSequence) {
            int readerStartOffset = buffer.readerIndex();
            int sectionSize = buffer.readIntLE();
            String documentIdentifier = BsonDecoder.decodeCString(buffer);
            List<Document> documents = new ArrayList<>();
            do {
                documents.add(decodeDocument(buffer));
            } while (buffer.readerIndex() - readerStartOffset < sectionSize);
            Assert.notEmpty(documents);
            Object old = documentSequence.put(documentIdentifier, documents);
            Assert.isNull(old);
        }
    }

    /**
     * MongoWireMessageEncoder's OP_MSG with the codec above, into a buffer sized by the channel's last
     * answer (netty's 256-byte start grew by copying, doubling, for every larger answer).
     */
    static final class MessageEncoder extends MessageToByteEncoder<MongoMessage> {
        private int lastSize = 256;

        @Override
        protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, MongoMessage message, boolean preferDirect) {
            return preferDirect ? ctx.alloc().ioBuffer(lastSize) : ctx.alloc().heapBuffer(lastSize);
        }

        @Override
        protected void encode(ChannelHandlerContext ctx, MongoMessage message, ByteBuf buf) {
            int start = buf.writerIndex();
            buf.writeIntLE(0); // length, set at the end
            buf.writeIntLE(message.getHeader().getRequestID());
            buf.writeIntLE(message.getHeader().getResponseTo());
            buf.writeIntLE(OpCode.OP_MSG.getId());
            buf.writeIntLE(message.getFlags());
            buf.writeByte(MongoMessage.SECTION_KIND_BODY);
            try {
                encodeDocument(message.getDocument(), buf);
            } catch (RuntimeException e) {
                ctx.channel().close();
                throw e;
            }
            int size = buf.writerIndex() - start;
            buf.setIntLE(start, size);
            lastSize = Math.max(256, Math.min(size + (size >> 3), 1 << 20));
        }
    }

    /**
     * MongoServer with the codec above in each connection's pipeline (MongoServer.bind's own pipeline,
     * with Decoder and MessageEncoder in place of MongoWireProtocolHandler and MongoWireMessageEncoder;
     * OP_REPLY, the legacy handshake's answer, keeps 1.47.0's encoder). With OMS_MONGO_WIRE_CODEC=0 it is
     * MongoServer itself.
     */
    static final class Server extends MongoServer {
        private final MongoBackend backend;
        private EventLoopGroup bossGroup;
        private EventLoopGroup workerGroup;
        private ChannelGroup channelGroup;
        private Channel channel;

        Server(MongoBackend backend) {
            super(backend);
            this.backend = backend;
        }

        @Override
        public void bind(SocketAddress socketAddress, int numberOfBossThreads, int numberOfWorkerThreads) {
            if (!ENABLED) {
                super.bind(socketAddress, numberOfBossThreads, numberOfWorkerThreads);
                return;
            }
            bossGroup = new NioEventLoopGroup(numberOfBossThreads, new MongoThreadFactory("mongo-server-boss"));
            workerGroup = new NioEventLoopGroup(numberOfWorkerThreads, new MongoThreadFactory("mongo-server-worker"));
            channelGroup = new DefaultChannelGroup("mongodb-channels", workerGroup.next());
            try {
                ServerBootstrap bootstrap = new ServerBootstrap()
                    .group(bossGroup, workerGroup)
                    .channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_BACKLOG, 100)
                    .localAddress(socketAddress)
                    .childOption(ChannelOption.TCP_NODELAY, Boolean.TRUE)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        public void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new MongoWireReplyEncoder());
                            ch.pipeline().addLast(new MessageEncoder());
                            ch.pipeline().addLast(new Decoder());
                            ch.pipeline().addLast(new MongoDatabaseHandler(backend, channelGroup));
                            ch.pipeline().addLast(new MongoExceptionHandler());
                        }
                    });
                channel = bootstrap.bind().syncUninterruptibly().channel();
            } catch (RuntimeException e) {
                shutdownNow();
                throw e;
            }
        }

        /** As MongoServer.shutdownNow: stop listening, close the clients, stop the threads, close the backend. */
        @Override
        public void shutdownNow() {
            if (channel != null) {
                channel.close().syncUninterruptibly();
                channel = null;
            }
            if (channelGroup != null) {
                channelGroup.close().syncUninterruptibly();
            }
            if (bossGroup != null) {
                bossGroup.shutdownGracefully(0, 5, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
            }
            if (workerGroup != null) {
                workerGroup.shutdownGracefully(0, 5, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
            }
            super.shutdownNow(); // nothing of its own is open then: it closes the backend
        }
    }
}
