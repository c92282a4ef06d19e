/* The EVE screen's loop in C: the same decisions as EveScreen._screen_python (eve_screen.py),
 * made without building a Python object per line.
 *
 * Why C: nine EVE lines in ten are protocol records that are only counted. In Python the screen
 * cost ~1.6 us per line (msgspec's decode ~0.6 us, the loop's tests and memo lookups the rest),
 * a third of the pipeline's CPU on the EVE bench. Here a line is validated as JSON and the
 * members the screen reads are located in one pass over its bytes, and Python objects are made
 * only for the memo lookups.
 *
 * The rule that keeps this safe: when anything is unusual, the line is *kept* (returned for the
 * full parser), never counted. A kept line costs time, never correctness, because the full path
 * decides every line exactly. So this file does not decode escapes (a backslash in a member it
 * reads keeps the line), keeps lines with non-ASCII bytes, control characters, exponents,
 * over-long numbers, deep nesting, a member it reads given twice, or any type msgspec's
 * decode into eve_screen.Glance would refuse. Every read is bounded by the line's end.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include "pythread.h"
#include "_eve_memo.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MAX_DEPTH 64  /* deeper lines are kept: the full parser's decoder names the problem */
#define MAX_ITEMS 16  /* names, fingerprints or file hashes one line may carry before it is kept */

typedef struct {
    const char *s;
    Py_ssize_t n; /* -1: absent or null */
} Span;

typedef struct {
    Span timestamp, event_type, src_ip, dest_ip, host, hostname, url;
    Span names[MAX_ITEMS];
    int n_names;
    Span prints[MAX_ITEMS]; /* TLS/QUIC fingerprints */
    int n_prints;
    Span hashes[MAX_ITEMS]; /* file hashes: asked directly */
    int n_hashes;
} Glance;

typedef struct {
    const char *p;
    const char *end;
    int depth;
} Cursor;

/* 1 for bytes a string may hold as they are: ASCII from space up, except '"' and '\\'. */
static unsigned char plain[256];

static void init_tables(void) {
    for (int c = 0x20; c < 0x80; c++) plain[c] = 1;
    plain['"'] = 0;
    plain['\\'] = 0;
}

static inline void skip_ws(Cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static inline int is_hex(char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* The first byte from p on that a string may not hold as it is (see plain), or end. Most of a
 * line's bytes are inside strings: 16 at a time where SSE2 is (every x86-64). */
static inline const char *skip_plain(const char *p, const char *end) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        /* Signed: bytes of 0x80 and up are negative, so below space too. */
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                    _mm_cmplt_epi8(v, space));
        int mask = _mm_movemask_epi8(stop);
        if (mask) return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
#endif
    while (p < end && plain[(unsigned char)*p]) p++;
    return p;
}

/* A string at c->p (which is '"'). Plain: its bytes into *out, 1. With escapes: when
 * allow_escapes, checks them and returns 2 (out is then unusable); else 0. 0 on any fault. */
static int scan_string(Cursor *c, Span *out, int allow_escapes) {
    const char *start = ++c->p;
    int escaped = 0;
    for (;;) {
        c->p = skip_plain(c->p, c->end);
        if (c->p >= c->end) return 0;
        char ch = *c->p;
        if (ch == '"') break;
        if (ch != '\\' || !allow_escapes) return 0; /* a control or non-ASCII byte, or '\\' */
        escaped = 1;
        if (c->end - c->p < 2) return 0;
        char e = c->p[1];
        if (e == 'u') {
            if (c->end - c->p < 6) return 0;
            for (int i = 2; i < 6; i++)
                if (!is_hex(c->p[i])) return 0;
            /* NUL and surrogates: the decoders' handling differs; leave them to the full path. */
            if (memcmp(c->p + 2, "0000", 4) == 0) return 0;
            char h = c->p[2], k = c->p[3];
            if ((h == 'd' || h == 'D') && (k == '8' || k == '9' || k == 'a' || k == 'A' || k == 'b' ||
                                           k == 'B' || k == 'c' || k == 'C' || k == 'd' ||
                                           k == 'D' || k == 'e' || k == 'E' || k == 'f' || k == 'F'))
                return 0;
            c->p += 6;
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                   e == 'r' || e == 't') {
            c->p += 2;
        } else {
            return 0;
        }
    }
    out->s = start;
    out->n = c->p - start;
    c->p++; /* the closing quote */
    return escaped ? 2 : 1;
}

/* A number: JSON's grammar, without an exponent and with at most 20 digits (beyond either,
 * the line is kept). *integer says whether it had no fraction, *negative a leading minus. */
static int scan_number(Cursor *c, int *integer, int *negative, unsigned long long *value) {
    *negative = 0;
    *integer = 1;
    *value = 0;
    if (c->p < c->end && *c->p == '-') {
        *negative = 1;
        c->p++;
    }
    const char *digits = c->p;
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return 0;
    if (*c->p == '0') {
        c->p++;
    } else {
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (c->p - digits >= 20) return 0;
            *value = *value * 10 + (unsigned long long)(*c->p - '0');
            c->p++;
        }
    }
    if (c->p < c->end && *c->p == '.') {
        *integer = 0;
        c->p++;
        const char *fraction = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
        if (c->p == fraction || c->p - fraction > 40) return 0;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) return 0;
    return 1;
}

static int skip_value(Cursor *c);

/* The walk through a container, shared by every reader below. enter(): on its opening
 * bracket, DONE when it closes at once (then left), MORE when items follow (the cursor on the
 * first). next(): after an item, MORE when a comma says another follows, DONE when the
 * closing bracket ends it (then left). FAULT: not JSON, or nested deeper than MAX_DEPTH. */
enum { FAULT = 0, DONE = 1, MORE = 2 };

static int enter(Cursor *c, char open, char close) {
    if (c->p >= c->end || *c->p != open || ++c->depth > MAX_DEPTH) return FAULT;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return DONE;
    }
    return MORE;
}

static int next(Cursor *c, char close) {
    skip_ws(c);
    if (c->p >= c->end) return FAULT;
    if (*c->p == ',') {
        c->p++;
        skip_ws(c);
        return MORE;
    }
    if (*c->p != close) return FAULT;
    c->p++;
    c->depth--;
    return DONE;
}

/* An object's key and its colon, the cursor left on the value. */
static int read_key(Cursor *c, Span *key, int allow_escapes) {
    if (c->p >= c->end || *c->p != '"' || !scan_string(c, key, allow_escapes)) return 0;
    skip_ws(c);
    if (c->p >= c->end || *c->p != ':') return 0;
    c->p++;
    skip_ws(c);
    return 1;
}

static int skip_container(Cursor *c, char open, char close) {
    int state = enter(c, open, close);
    while (state == MORE) {
        Span key;
        if ((open == '{' && !read_key(c, &key, 1)) || !skip_value(c)) return 0;
        state = next(c, close);
    }
    return state == DONE;
}

static int skip_literal(Cursor *c, const char *word, Py_ssize_t n) {
    if (c->end - c->p < n || memcmp(c->p, word, (size_t)n) != 0) return 0;
    c->p += n;
    return 1;
}

static int skip_value(Cursor *c) {
    if (c->p >= c->end) return 0;
    Span ignored;
    int integer, negative;
    unsigned long long value;
    switch (*c->p) {
        case '{': return skip_container(c, '{', '}');
        case '[': return skip_container(c, '[', ']');
        case '"': return scan_string(c, &ignored, 1) != 0;
        case 't': return skip_literal(c, "true", 4);
        case 'f': return skip_literal(c, "false", 5);
        case 'n': return skip_literal(c, "null", 4);
        default: return scan_number(c, &integer, &negative, &value);
    }
}

static inline int is_null(Cursor *c) {
    if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
        c->p += 4;
        return 1;
    }
    return 0;
}

/* A member typed `str | None`: a plain string or null. */
static int read_text(Cursor *c, Span *out) {
    if (c->p < c->end && *c->p == '"') return scan_string(c, out, 0) == 1;
    if (is_null(c)) {
        out->n = -1;
        return 1;
    }
    return 0;
}

/* A member typed `int | None`, bounded by [0, limit] when limit >= 0. */
static int read_int(Cursor *c, long long limit) {
    if (is_null(c)) return 1;
    int integer, negative;
    unsigned long long value;
    if (!scan_number(c, &integer, &negative, &value) || !integer) return 0;
    if (limit >= 0) return !negative && value <= (unsigned long long)limit;
    return value < (1ULL << 62); /* any int msgspec takes; keep the improbable rest */
}

static inline int key_is(const Span *key, const char *name, Py_ssize_t n) {
    return key->n == n && memcmp(key->s, name, (size_t)n) == 0;
}

static int push(Span *items, int *count, const Span *value) {
    if (value->n <= 0) return 1; /* absent, null or empty: nothing to ask */
    if (*count >= MAX_ITEMS) return 0;
    items[(*count)++] = *value;
    return 1;
}

/* The members of an object, one call of member() per key with the cursor on its value. A key
 * with escapes keeps the line (it may spell a member read here); a member read twice, too: the
 * bit of `seen` that member() sets. */
typedef int (*Member)(Cursor *c, const Span *key, Glance *g, unsigned *seen);

static int read_object(Cursor *c, Glance *g, Member member) {
    unsigned seen = 0;
    int state = enter(c, '{', '}');
    while (state == MORE) {
        Span key; /* plain: an escaped key keeps the line */
        if (!read_key(c, &key, 0) || !member(c, &key, g, &seen)) return 0;
        state = next(c, '}');
    }
    return state == DONE;
}

/* An object typed `Section | None`: null, or an object read by member(). */
static int read_section(Cursor *c, Glance *g, Member member) {
    if (is_null(c)) return 1;
    return read_object(c, g, member);
}

/* A list typed `list[Section] | None`: null, or an array of objects read by member(). */
static int read_list(Cursor *c, Glance *g, Member member) {
    if (is_null(c)) return 1;
    int state = enter(c, '[', ']');
    while (state == MORE) {
        if (!read_object(c, g, member)) return 0;
        state = next(c, ']');
    }
    return state == DONE;
}

static inline int first_time(unsigned *seen, unsigned bit) {
    if (*seen & bit) return 0;
    *seen |= bit;
    return 1;
}

/* A member typed `str | None` read once (its bit of seen) into a list of the glance. */
static int read_item(Cursor *c, unsigned *seen, unsigned bit, Span *items, int *count) {
    Span value;
    return first_time(seen, bit) && read_text(c, &value) && push(items, count, &value);
}

/* {"rrname": ...}: a DNS query or answer. */
static int query_member(Cursor *c, const Span *key, Glance *g, unsigned *seen) {
    if (key_is(key, "rrname", 6)) return read_item(c, seen, 1, g->names, &g->n_names);
    return skip_value(c);
}

static int dns_member(Cursor *c, const Span *key, Glance *g, unsigned *seen) {
    if (key_is(key, "rrname", 6)) return read_item(c, seen, 1, g->names, &g->n_names);
    if (key_is(key, "queries", 7)) return first_time(seen, 2) && read_list(c, g, query_member);
    if (key_is(key, "query", 5)) return first_time(seen, 4) && read_list(c, g, query_member);
    if (key_is(key, "answer", 6)) return first_time(seen, 8) && read_section(c, g, query_member);
    return skip_value(c);
}

static int http_member(Cursor *c, const Span *key, Glance *g, unsigned *seen) {
    if (key_is(key, "hostname", 8)) return first_time(seen, 1) && read_text(c, &g->hostname);
    if (key_is(key, "url", 3)) return first_time(seen, 2) && read_text(c, &g->url);
    if (key_is(key, "http_port", 9)) return first_time(seen, 4) && read_int(c, -1);
    return skip_value(c);
}

/* {"hash": ...}: a JA3 or JA3S fingerprint. */
static int fingerprint_member(Cursor *c, const Span *key, Glance *g, unsigned *seen) {
    if (key_is(key, "hash", 4)) return read_item(c, seen, 1, g->prints, &g->n_prints);
    return skip_value(c);
}

static int tls_member(Cursor *c, const Span *key, Glance *g, unsigned *seen) {
    if (key_is(key, "sni", 3)) return read_item(c, seen, 1, g->names, &g->n_names);
    if (key_is(key, "ja3", 3)) return first_time(seen, 2) && read_section(c, g, fingerprint_member);
    if (key_is(key, "ja3s", 4)) return first_time(seen, 4) && read_section(c, g, fingerprint_member);
    if (key_is(key, "ja4", 3)) return read_item(c, seen, 8, g->prints, &g->n_prints);
    return skip_value(c);
}

static int file_member(Cursor *c, const Span *key, Glance *g, unsigned *seen) {
    unsigned bit = key_is(key, "md5", 3) ? 1 : key_is(key, "sha1", 4) ? 2 : key_is(key, "sha256", 6) ? 4 : 0;
    if (bit) return read_item(c, seen, bit, g->hashes, &g->n_hashes);
    return skip_value(c);
}

static int line_member(Cursor *c, const Span *key, Glance *g, unsigned *seen) {
    switch (key->n) {
        case 3:
            if (key_is(key, "dns", 3)) return first_time(seen, 1) && read_section(c, g, dns_member);
            if (key_is(key, "tls", 3)) return first_time(seen, 2) && read_section(c, g, tls_member);
            break;
        case 4:
            if (key_is(key, "http", 4)) return first_time(seen, 4) && read_section(c, g, http_member);
            if (key_is(key, "host", 4)) return first_time(seen, 8) && read_text(c, &g->host);
            if (key_is(key, "quic", 4)) return first_time(seen, 16) && read_section(c, g, tls_member);
            break;
        case 5:
            if (key_is(key, "files", 5)) return first_time(seen, 32) && read_list(c, g, file_member);
            break;
        case 6:
            if (key_is(key, "src_ip", 6)) return first_time(seen, 64) && read_text(c, &g->src_ip);
            break;
        case 7:
            if (key_is(key, "dest_ip", 7)) return first_time(seen, 128) && read_text(c, &g->dest_ip);
            break;
        case 8:
            if (key_is(key, "src_port", 8)) return first_time(seen, 256) && read_int(c, 65535);
            if (key_is(key, "fileinfo", 8))
                return first_time(seen, 512) && read_section(c, g, file_member);
            break;
        case 9:
            if (key_is(key, "timestamp", 9)) return first_time(seen, 1024) && read_text(c, &g->timestamp);
            if (key_is(key, "dest_port", 9)) return first_time(seen, 2048) && read_int(c, 65535);
            break;
        case 10:
            if (key_is(key, "event_type", 10))
                return first_time(seen, 4096) && read_text(c, &g->event_type);
            break;
    }
    return skip_value(c);
}

/* Read a line; 0 when it must go to the full parser for what it is. */
static int glance(const char *data, Py_ssize_t size, Glance *g) {
    Cursor c = {data, data + size, 0};
    Span absent = {NULL, -1};
    g->timestamp = g->event_type = g->src_ip = g->dest_ip = g->host = absent;
    g->hostname = g->url = absent;
    g->n_names = g->n_prints = g->n_hashes = 0;
    skip_ws(&c);
    if (!read_object(&c, g, line_member)) return 0;
    skip_ws(&c);
    return c.p == c.end;
}

/* The event types the full parser must see (eve_screen.FULL_TYPES): stored events, sensor
 * stats, sections the screen does not read; and a missing or empty type. */
static int full_type(const Span *t) {
    static const char *const types[] = {"alert", "anomaly", "drop", "stats", "mdns", "llmnr"};
    if (t->n <= 0) return 1;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if ((size_t)t->n == strlen(types[i]) && memcmp(t->s, types[i], (size_t)t->n) == 0) return 1;
    return 0;
}

static PyObject *text(const Span *s) {
    /* Plain strings hold ASCII from space up only (scan_string), so the copy is the str. */
    PyObject *str = PyUnicode_New(s->n, 127);
    if (str != NULL) memcpy(PyUnicode_DATA(str), s->s, (size_t)s->n);
    return str;
}

/* The truth of a Python answer (a new reference, stolen), or -1 when there is none (error). */
static int truth_of(PyObject *answer) {
    if (answer == NULL) return -1;
    int truth = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    return truth;
}

/* memo[value] (a dict subclass answering misses), or function(value) when call: its truth,
 * or -1 on an error. */
static int answer_for(PyObject *memo_or_function, const Span *value, int call) {
    PyObject *key = text(value);
    if (key == NULL) return -1;
    PyObject *answer = call ? PyObject_CallOneArg(memo_or_function, key)
                            : PyObject_GetItem(memo_or_function, key);
    Py_DECREF(key);
    return truth_of(answer);
}

static inline int ask(PyObject *memo, const Span *value) { return answer_for(memo, value, 0); }

static inline int call_truth(PyObject *function, const Span *value) {
    return answer_for(function, value, 1);
}

/* Whether the timestamp parses as eve.py reads it: Suricata's layout checked here, else the
 * screen's own answer (a second and an offset it parsed before, or timestamp(stamp)). */
static int stamp_ok(const Span *stamp, PyObject *seconds, PyObject *zones, PyObject *timestamp) {
    const char *s = stamp->s;
    if (suricata_time(s, stamp->n)) return 1;
    if (stamp->n == 31 && s[19] == '.') {
        int digits = 1;
        for (int i = 20; i < 26; i++) digits &= (s[i] >= '0' && s[i] <= '9');
        if (digits) {
            Span second = {s, 19}, zone = {s + 26, 5};
            PyObject *a = text(&second);
            if (a == NULL) return -1;
            int in_seconds = PySet_Contains(seconds, a);
            Py_DECREF(a);
            if (in_seconds < 0) return -1;
            if (in_seconds) {
                PyObject *b = text(&zone);
                if (b == NULL) return -1;
                int in_zones = PySet_Contains(zones, b);
                Py_DECREF(b);
                if (in_zones < 0) return -1;
                if (in_zones) return 1;
            }
        }
    }
    return call_truth(timestamp, stamp);
}

/* The screen's answers kept in C (see _eve_memo.h), and the lock that keeps one screen's
 * calls apart (BatchProcessor may be called from several threads, for HTTP batches). */
typedef struct {
    PyObject_HEAD
    Table owners, names, hosts;
    DigestSet digests;
    PyThread_type_lock lock;
} Memos;

static void memos_dealloc(Memos *self) {
    PyMem_Free(self->digests.keys);
    table_free(&self->owners);
    table_free(&self->names);
    table_free(&self->hosts);
    if (self->lock != NULL) PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *memos_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    if (PyTuple_GET_SIZE(args) != 0 || (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)) {
        PyErr_SetString(PyExc_TypeError, "Memos() takes no arguments");
        return NULL;
    }
    Memos *self = (Memos *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->lock = PyThread_allocate_lock();
    if (self->lock == NULL || !table_init(&self->owners) || !table_init(&self->names) ||
        !table_init(&self->hosts)) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

PyDoc_STRVAR(know_digests_doc,
             "know_digests(values: Collection[str]) -> None\n\n"
             "Take the lower-case values hits_digest answers True for, once: then a line's\n"
             "hashes and fingerprints are settled in the first pass when none of them is one.");

static PyObject *memos_know_digests(Memos *self, PyObject *values) {
    if (self->digests.known) {
        PyErr_SetString(PyExc_RuntimeError, "know_digests(): already known");
        return NULL;
    }
    Py_ssize_t count = PyObject_Length(values);
    if (count < 0) return NULL;
    size_t size = 16;
    while (size < (size_t)count * 2 + 2) size *= 2;
    uint64_t *keys = PyMem_Calloc(size, sizeof(uint64_t));
    if (keys == NULL) return PyErr_NoMemory();
    PyObject *iterator = PyObject_GetIter(values), *value;
    if (iterator == NULL) goto error;
    Py_ssize_t seen = 0;
    while ((value = PyIter_Next(iterator)) != NULL) {
        Py_ssize_t length;
        const char *bytes = PyUnicode_Check(value) ? PyUnicode_AsUTF8AndSize(value, &length) : NULL;
        if (bytes == NULL || ++seen > count) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "know_digests(): a collection of str, please");
            Py_DECREF(value);
            goto error;
        }
        uint64_t h = lower_hash(bytes, length);
        size_t i = (size_t)h & (size - 1);
        while (keys[i] != 0 && keys[i] != h) i = (i + 1) & (size - 1);
        keys[i] = h;
        Py_DECREF(value);
    }
    if (PyErr_Occurred()) goto error;
    Py_DECREF(iterator);
    self->digests.keys = keys;
    self->digests.size = size;
    self->digests.known = 1;
    Py_RETURN_NONE;
error:
    Py_XDECREF(iterator);
    PyMem_Free(keys);
    return NULL;
}

static PyMethodDef memos_methods[] = {
    {"know_digests", (PyCFunction)memos_know_digests, METH_O, know_digests_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject MemosType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "vardeild.monitoring.parsers._eve_glance.Memos",
    .tp_basicsize = sizeof(Memos),
    .tp_dealloc = (destructor)memos_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One EVE screen's answers, kept where its first pass reads them without the GIL.",
    .tp_methods = memos_methods,
    .tp_new = memos_new,
};

enum { KEEP = 0, ALONE = 1, ALONG = 2, DEFER = 3 };

typedef struct {
    PyObject *owners, *names, *hosts, *digest, *seconds, *zones, *timestamp, *full;
    int screening, count_unattributed;
} Answers;

/* The first pass, without the GIL: KEEP, ALONE or ALONG when the kept answers settle the
 * line, DEFER when one is missing (or a fingerprint or hash must be asked). Each keep below
 * is certain on its own; a line is counted only when every test passed. */
static int decide_fast(const Memos *m, const Answers *a, const char *data, Py_ssize_t size,
                       Span *host) {
    Glance g;
    if (!glance(data, size, &g) || full_type(&g.event_type) || g.timestamp.n < 0) return KEEP;
    if (!suricata_time(g.timestamp.s, g.timestamp.n)) return DEFER;
    PyObject *source = Py_None, *target = Py_None;
    if (g.src_ip.n >= 0) {
        source = table_get(&m->owners, g.src_ip.s, g.src_ip.n);
        if (source == NULL) return DEFER;
        if (source == a->full) return KEEP;
    }
    if (g.dest_ip.n >= 0) {
        target = table_get(&m->owners, g.dest_ip.s, g.dest_ip.n);
        if (target == NULL) return DEFER;
        if (target == a->full) return KEEP;
    }
    if (a->screening) {
        if (g.url.n >= 0 && (g.url.n == 0 || g.url.s[0] != '/')) return KEEP;
        if (g.hostname.n > 0) {
            PyObject *hit = table_get(&m->hosts, g.hostname.s, g.hostname.n);
            if (hit == NULL) return DEFER;
            if (hit == Py_True) return KEEP;
        }
        for (int i = 0; i < g.n_names; i++) {
            PyObject *hit = table_get(&m->names, g.names[i].s, g.names[i].n);
            if (hit == NULL) return DEFER;
            if (hit == Py_True) return KEEP;
        }
        if (g.n_prints || g.n_hashes) {
            if (!m->digests.known) return DEFER;
            for (int i = 0; i < g.n_prints; i++)
                if (digests_may_hit(&m->digests, g.prints[i].s, g.prints[i].n)) return DEFER;
            for (int i = 0; i < g.n_hashes; i++)
                if (digests_may_hit(&m->digests, g.hashes[i].s, g.hashes[i].n)) return DEFER;
        }
    }
    *host = g.host;
    return source == Py_None && target == Py_None && a->count_unattributed ? ALONE : ALONG;
}

/* memo[value]'s truth, kept in table: 1, 0, or -1 on an error. */
static int ask_kept(Table *table, PyObject *memo, const Span *value) {
    int truth = ask(memo, value);
    if (truth >= 0) table_put(table, value->s, value->n, truth ? Py_True : Py_False);
    return truth;
}

/* owners[ip]: Py_None (nobody), an owner (new reference), `full` (keep the line), NULL on an
 * error. Absent: Py_None. */
static PyObject *owner_of(PyObject *owners, const Span *ip) {
    if (ip->n < 0) return Py_NewRef(Py_None);
    PyObject *key = text(ip);
    if (key == NULL) return NULL;
    PyObject *owner = PyObject_GetItem(owners, key);
    Py_DECREF(key);
    return owner;
}

/* owners[ip] (see owner_of), kept in the owners table. */
static PyObject *owner_kept(Table *table, PyObject *owners, const Span *ip) {
    PyObject *owner = owner_of(owners, ip);
    if (owner != NULL && ip->n >= 0) table_put(table, ip->s, ip->n, owner);
    return owner;
}

/* The second pass, with the GIL, for a deferred line: the Python memos and the matcher
 * decide, and their answers are kept for the first pass of the batches to come. -1: error. */
static int decide_slow(Memos *m, const Answers *a, const char *data, Py_ssize_t size, Span *host) {
    Glance g;
    if (!glance(data, size, &g) || full_type(&g.event_type) || g.timestamp.n < 0) return KEEP;
    int ok = stamp_ok(&g.timestamp, a->seconds, a->zones, a->timestamp);
    if (ok <= 0) return ok < 0 ? -1 : KEEP;
    PyObject *source = owner_kept(&m->owners, a->owners, &g.src_ip);
    if (source == NULL) return -1;
    int decision = KEEP;
    PyObject *target = NULL;
    if (source == a->full) goto done;
    target = owner_kept(&m->owners, a->owners, &g.dest_ip);
    if (target == NULL) {
        decision = -1;
        goto done;
    }
    if (target == a->full) goto done;
    if (a->screening) {
        if (g.url.n >= 0 && (g.url.n == 0 || g.url.s[0] != '/')) goto done;
        int hit = 0;
        if (g.hostname.n > 0) hit = ask_kept(&m->hosts, a->hosts, &g.hostname);
        for (int i = 0; i < g.n_names && hit == 0; i++) hit = ask_kept(&m->names, a->names, &g.names[i]);
        for (int i = 0; i < g.n_prints && hit == 0; i++) hit = call_truth(a->digest, &g.prints[i]);
        for (int i = 0; i < g.n_hashes && hit == 0; i++) hit = call_truth(a->digest, &g.hashes[i]);
        if (hit != 0) {
            decision = hit < 0 ? -1 : KEEP;
            goto done;
        }
    }
    *host = g.host;
    decision = source == Py_None && target == Py_None && a->count_unattributed ? ALONE : ALONG;
done:
    Py_DECREF(source);
    Py_XDECREF(target);
    return decision;
}

/* One run of lines of one sensor: (name, alone, along) appended to runs. */
static int add_run(PyObject *runs, PyObject *name, Py_ssize_t alone, Py_ssize_t along) {
    if (alone == 0 && along == 0) return 0;
    PyObject *run = Py_BuildValue("(Onn)", name, alone, along);
    if (run == NULL) return -1;
    int status = PyList_Append(runs, run);
    Py_DECREF(run);
    return status;
}

/* The lines of one call: their bytes, and where each came from. In list mode (screen) each
 * line is a record's data, held by `held`; in block mode (screen_blocks) each is a slice of a
 * block, which the caller's batch holds, and `offsets` gives its byte offset in the file. */
typedef struct {
    const char **text;
    Py_ssize_t *size;
    long long *offsets; /* block mode */
    PyObject **held;    /* list mode: each record's data (a new reference) */
    unsigned char *decision;
    Span *hosts;
    Py_ssize_t count;
} Lines;

static int lines_alloc(Lines *lines, Py_ssize_t count, int blocks) {
    size_t n = (size_t)count + 1;
    lines->count = count;
    lines->text = PyMem_Calloc(n, sizeof(char *));
    lines->size = PyMem_Calloc(n, sizeof(Py_ssize_t));
    lines->offsets = blocks ? PyMem_Calloc(n, sizeof(long long)) : NULL;
    lines->held = blocks ? NULL : PyMem_Calloc(n, sizeof(PyObject *));
    lines->decision = PyMem_Calloc(n, 1);
    lines->hosts = PyMem_Calloc(n, sizeof(Span));
    if (lines->text == NULL || lines->size == NULL || (blocks && lines->offsets == NULL) ||
        (!blocks && lines->held == NULL) || lines->decision == NULL || lines->hosts == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    return 1;
}

static void lines_free(Lines *lines) {
    if (lines->held != NULL)
        for (Py_ssize_t i = 0; i < lines->count; i++) Py_XDECREF(lines->held[i]);
    PyMem_Free(lines->text);
    PyMem_Free(lines->size);
    PyMem_Free(lines->offsets);
    PyMem_Free(lines->held);
    PyMem_Free(lines->decision);
    PyMem_Free(lines->hosts);
}

/* The records kept, in order, with the runs of counted lines per sensor: (rest, runs). In
 * list mode a kept line is its record; in block mode a record is made of it (make). */
static PyObject *assemble(PyObject *records, PyObject *make, const Lines *lines, PyObject *sensor,
                          int by_batch) {
    PyObject *rest = PyList_New(0), *runs = PyList_New(0);
    PyObject *last = NULL;        /* the sensor of the current run (a new reference) */
    const Span *last_host = NULL; /* its host member (while by_batch is false) */
    Py_ssize_t alone = 0, along = 0;
    if (rest == NULL || runs == NULL) goto error;
    for (Py_ssize_t i = 0; i < lines->count; i++) {
        unsigned char decision = lines->decision[i];
        if (decision == KEEP) {
            PyObject *record;
            if (records != NULL) {
                record = Py_NewRef(PyList_GET_ITEM(records, i));
            } else {
                PyObject *args[2] = {PyLong_FromLongLong(lines->offsets[i]),
                                     PyBytes_FromStringAndSize(lines->text[i], lines->size[i])};
                record = args[0] != NULL && args[1] != NULL ? PyObject_Vectorcall(make, args, 2, NULL)
                                                            : NULL;
                Py_XDECREF(args[0]);
                Py_XDECREF(args[1]);
            }
            if (record == NULL) goto error;
            int status = PyList_Append(rest, record);
            Py_DECREF(record);
            if (status < 0) goto error;
            continue;
        }
        /* The run's sensor: the batch's, or the line's host member (None when absent). */
        const Span *host = &lines->hosts[i];
        int same = last != NULL &&
                   (by_batch || (host->n == last_host->n &&
                                 (host->n <= 0 || memcmp(host->s, last_host->s, (size_t)host->n) == 0)));
        if (!same) {
            if (last != NULL && add_run(runs, last, alone, along) < 0) goto error;
            alone = along = 0;
            Py_XDECREF(last);
            last = by_batch ? Py_NewRef(sensor) : host->n < 0 ? Py_NewRef(Py_None) : text(host);
            if (last == NULL) goto error;
            last_host = host;
        }
        if (decision == ALONE)
            alone++;
        else
            along++;
    }
    if (last != NULL && add_run(runs, last, alone, along) < 0) goto error;
    Py_XDECREF(last);
    PyObject *result = PyTuple_Pack(2, rest, runs);
    Py_DECREF(rest);
    Py_DECREF(runs);
    return result;
error:
    Py_XDECREF(last);
    Py_XDECREF(rest);
    Py_XDECREF(runs);
    return NULL;
}

static void first_pass(const Memos *memos, const Answers *a, Lines *lines) {
    for (Py_ssize_t i = 0; i < lines->count; i++)
        if (lines->decision[i] == DEFER)
            lines->decision[i] = (unsigned char)decide_fast(memos, a, lines->text[i],
                                                            lines->size[i], &lines->hosts[i]);
}

static PyObject *data_name;

/* Batches at least this long give up the GIL for the first pass; for fewer lines, taking the
 * GIL back (up to one switch interval while another thread runs Python) costs more. */
#define NOGIL_LINES 512

/* Both passes over the lines (their decisions DEFER, or KEEP for lines not to read), then the
 * records kept and the runs. memos' lock keeps the calls of one screen apart. */
static PyObject *screen_lines(Memos *memos, const Answers *a, Lines *lines, PyObject *records,
                              PyObject *make, PyObject *sensor, int by_batch) {
    if (!PyThread_acquire_lock(memos->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(memos->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    /* First pass: what the kept answers settle. Nothing here touches a Python object's
     * refcount or calls into Python; the tables change only in the second pass. */
    if (lines->count >= NOGIL_LINES) {
        Py_BEGIN_ALLOW_THREADS
        first_pass(memos, a, lines);
        Py_END_ALLOW_THREADS
    } else {
        first_pass(memos, a, lines);
    }
    /* Second pass: the rest, with the Python memos (whose answers the tables then keep). */
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < lines->count; i++) {
        if (lines->decision[i] != DEFER) continue;
        int d = decide_slow(memos, a, lines->text[i], lines->size[i], &lines->hosts[i]);
        if (d < 0) goto done;
        lines->decision[i] = (unsigned char)d;
    }
    result = assemble(records, make, lines, sensor, by_batch);
done:
    PyThread_release_lock(memos->lock);
    return result;
}

/* The arguments both entry points share: owners, names, hosts, digest, seconds, zones,
 * timestamp, full, count_unattributed. */
static int read_answers(PyObject *const *args, Answers *a) {
    if (!PyAnySet_Check(args[4]) || !PyAnySet_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError, "seconds and zones must be sets");
        return 0;
    }
    *a = (Answers){args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], 0, 0};
    a->screening = a->digest != Py_None;
    a->count_unattributed = PyObject_IsTrue(args[8]);
    return a->count_unattributed >= 0;
}

PyDoc_STRVAR(screen_doc,
             "screen(memos, records, sensor, owners, names, hosts, digest, seconds, zones,\n"
             "       timestamp, full, count_unattributed) -> (rest, runs)\n\n"
             "EveScreen's loop: the records for the full parser, in order, and the runs of\n"
             "counted lines as (sensor, alone, along). digest None: no indicator screening.\n"
             "A first pass without the GIL settles the lines whose answers memos (a Memos)\n"
             "holds; a second pass asks the Python memos for the rest and keeps their answers.");

/* The arguments both entry points begin with: memos (a Memos), a list, then from `sensor`
 * on: the sensor, owners, names, hosts, digest, seconds, zones, timestamp, full and
 * count_unattributed. 0 (an error set) when they are not that. */
static int read_call(const char *name, PyObject *const *args, Py_ssize_t nargs,
                     Py_ssize_t sensor, Answers *a, int *by_batch) {
    if (nargs != sensor + 10) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments", name, sensor + 10);
        return 0;
    }
    if (!PyObject_TypeCheck(args[0], &MemosType) || !PyList_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "%s(): a Memos, then a list", name);
        return 0;
    }
    *by_batch = PyObject_IsTrue(args[sensor]);
    return *by_batch >= 0 && read_answers(args + sensor + 1, a);
}

static PyObject *screen(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    Answers a;
    int by_batch;
    if (!read_call("screen", args, nargs, 2, &a, &by_batch)) return NULL;
    /* The records list is the caller's; hold each line's bytes while the GIL is given up. */
    PyObject *records = PySequence_List(args[1]);
    if (records == NULL) return NULL;
    Lines lines = {0};
    PyObject *result = NULL;
    if (!lines_alloc(&lines, PyList_GET_SIZE(records), 0)) goto done;
    for (Py_ssize_t i = 0; i < lines.count; i++) {
        PyObject *data = lines.held[i] = PyObject_GetAttr(PyList_GET_ITEM(records, i), data_name);
        if (data == NULL) goto done;
        if (PyBytes_Check(data)) {
            lines.text[i] = PyBytes_AS_STRING(data);
            lines.size[i] = PyBytes_GET_SIZE(data);
            lines.decision[i] = DEFER;
        } /* else KEEP: the full parser names the problem */
    }
    result = screen_lines((Memos *)args[0], &a, &lines, records, NULL, args[2], by_batch);
done:
    lines_free(&lines);
    Py_DECREF(records);
    return result;
}

static inline int blank(const char *s, Py_ssize_t n) {
    /* What bytes.strip() takes away: ASCII whitespace. */
    for (Py_ssize_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\x0b' && s[i] != '\x0c') return 0;
    return 1;
}

PyDoc_STRVAR(screen_blocks_doc,
             "screen_blocks(memos, blocks, make, sensor, owners, names, hosts, digest, seconds,\n"
             "              zones, timestamp, full, count_unattributed) -> (rest, runs, records)\n\n"
             "screen() over blocks of whole lines as a file reader read them: blocks is a list\n"
             "of (offset, bytes ending in a newline). Lines are split as monitoring.files does\n"
             "(on b'\\\\n'; blank lines skipped), and a record, make(offset, line), is made only\n"
             "for a line kept; records is how many lines there were.");

static PyObject *screen_blocks(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    Answers a;
    int by_batch;
    if (!read_call("screen_blocks", args, nargs, 3, &a, &by_batch)) return NULL;
    PyObject *blocks = PySequence_List(args[1]); /* holds the blocks for this call */
    if (blocks == NULL) return NULL;
    Lines lines = {0};
    PyObject *result = NULL, *screened = NULL;
    Py_ssize_t count = 0;
    for (int fill = 0; fill < 2; fill++) { /* count the lines, then note them */
        Py_ssize_t n = 0;
        for (Py_ssize_t b = 0; b < PyList_GET_SIZE(blocks); b++) {
            PyObject *block = PyList_GET_ITEM(blocks, b), *data;
            long long offset;
            if (!PyTuple_Check(block) || PyTuple_GET_SIZE(block) != 2 ||
                !PyBytes_Check(data = PyTuple_GET_ITEM(block, 1))) {
                PyErr_SetString(PyExc_TypeError, "screen_blocks(): a block is (offset, bytes)");
                goto done;
            }
            offset = PyLong_AsLongLong(PyTuple_GET_ITEM(block, 0));
            if (offset == -1 && PyErr_Occurred()) goto done;
            const char *p = PyBytes_AS_STRING(data), *end = p + PyBytes_GET_SIZE(data);
            while (p < end) {
                const char *newline = memchr(p, '\n', (size_t)(end - p));
                const char *stop = newline != NULL ? newline : end;
                if (!blank(p, stop - p)) {
                    if (fill) {
                        lines.text[n] = p;
                        lines.size[n] = stop - p;
                        lines.offsets[n] = offset;
                        lines.decision[n] = DEFER;
                    }
                    n++;
                }
                offset += (stop - p) + 1;
                p = stop + 1;
            }
        }
        count = n;
        if (!fill && !lines_alloc(&lines, count, 1)) goto done;
    }
    screened = screen_lines((Memos *)args[0], &a, &lines, NULL, args[2], args[3], by_batch);
    if (screened != NULL)
        result = Py_BuildValue("(OOn)", PyTuple_GET_ITEM(screened, 0), PyTuple_GET_ITEM(screened, 1),
                               count);
done:
    Py_XDECREF(screened);
    lines_free(&lines);
    Py_DECREF(blocks);
    return result;
}

PyDoc_STRVAR(count_lines_doc,
             "count_lines(data: bytes, end: int) -> int\n\n"
             "How many newlines data[:end] holds: bytes.count(b'\\n', 0, end), with memchr\n"
             "(a tenth of the time; the file reader counts every block it reads).");

static PyObject *count_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "count_lines(data: bytes, end: int)");
        return NULL;
    }
    Py_ssize_t end = PyLong_AsSsize_t(args[1]);
    if (end == -1 && PyErr_Occurred()) return NULL;
    if (end < 0 || end > PyBytes_GET_SIZE(args[0])) end = PyBytes_GET_SIZE(args[0]);
    const char *p = PyBytes_AS_STRING(args[0]), *stop = p + end;
    Py_ssize_t count = 0;
    while (p < stop && (p = memchr(p, '\n', (size_t)(stop - p))) != NULL) {
        count++;
        p++;
    }
    return PyLong_FromSsize_t(count);
}

PyDoc_STRVAR(glance_doc,
             "glance(line: bytes) -> dict | None\n\n"
             "What the screen reads of a line (for tests): None when it would keep the line\n"
             "for what it is, before asking any memo.");

static PyObject *span_or_none(const Span *s) {
    if (s->n < 0) return Py_NewRef(Py_None);
    return text(s);
}

static PyObject *spans(const Span *items, int n) {
    PyObject *list = PyList_New(n);
    if (list == NULL) return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *item = text(&items[i]);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static PyObject *glance_line(PyObject *module, PyObject *line) {
    if (!PyBytes_Check(line)) {
        PyErr_SetString(PyExc_TypeError, "glance() takes bytes");
        return NULL;
    }
    Glance g;
    if (!glance(PyBytes_AS_STRING(line), PyBytes_GET_SIZE(line), &g)) Py_RETURN_NONE;
    return Py_BuildValue("{s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N,s:N}",
                         "timestamp", span_or_none(&g.timestamp), "event_type",
                         span_or_none(&g.event_type), "src_ip", span_or_none(&g.src_ip), "dest_ip",
                         span_or_none(&g.dest_ip), "host", span_or_none(&g.host), "hostname",
                         span_or_none(&g.hostname), "url", span_or_none(&g.url), "names",
                         spans(g.names, g.n_names), "prints", spans(g.prints, g.n_prints),
                         "hashes", spans(g.hashes, g.n_hashes));
}

static PyMethodDef methods[] = {
    {"screen", (PyCFunction)(void (*)(void))screen, METH_FASTCALL, screen_doc},
    {"screen_blocks", (PyCFunction)(void (*)(void))screen_blocks, METH_FASTCALL, screen_blocks_doc},
    {"glance", glance_line, METH_O, glance_doc},
    {"count_lines", (PyCFunction)(void (*)(void))count_lines, METH_FASTCALL, count_lines_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_eve_glance",
    "The EVE screen's loop in C (see eve_screen.py, which falls back to Python without it).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__eve_glance(void) {
    init_tables();
    data_name = PyUnicode_InternFromString("data");
    if (data_name == NULL || PyType_Ready(&MemosType) < 0) return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) return NULL;
    if (PyModule_AddObjectRef(module, "Memos", (PyObject *)&MemosType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
