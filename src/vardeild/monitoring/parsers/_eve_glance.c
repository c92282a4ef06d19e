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

static int skip_container(Cursor *c, char close, int object) {
    if (++c->depth > MAX_DEPTH) return 0;
    c->p++; /* the opening bracket */
    skip_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return 1;
    }
    for (;;) {
        if (object) {
            Span key;
            if (c->p >= c->end || *c->p != '"' || !scan_string(c, &key, 1)) return 0;
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':') return 0;
            c->p++;
            skip_ws(c);
        }
        if (!skip_value(c)) return 0;
        skip_ws(c);
        if (c->p >= c->end) return 0;
        if (*c->p == ',') {
            c->p++;
            skip_ws(c);
            continue;
        }
        if (*c->p != close) return 0;
        c->p++;
        c->depth--;
        return 1;
    }
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
        case '{': return skip_container(c, '}', 1);
        case '[': return skip_container(c, ']', 0);
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
    if (c->p >= c->end || *c->p != '{') return 0;
    if (++c->depth > MAX_DEPTH) return 0;
    unsigned seen = 0;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        c->depth--;
        return 1;
    }
    for (;;) {
        Span key;
        if (c->p >= c->end || *c->p != '"' || scan_string(c, &key, 0) != 1) return 0;
        skip_ws(c);
        if (c->p >= c->end || *c->p != ':') return 0;
        c->p++;
        skip_ws(c);
        if (!member(c, &key, g, &seen)) return 0;
        skip_ws(c);
        if (c->p >= c->end) return 0;
        if (*c->p == ',') {
            c->p++;
            skip_ws(c);
            continue;
        }
        if (*c->p != '}') return 0;
        c->p++;
        c->depth--;
        return 1;
    }
}

/* An object typed `Section | None`: null, or an object read by member(). */
static int read_section(Cursor *c, Glance *g, Member member) {
    if (is_null(c)) return 1;
    return read_object(c, g, member);
}

/* A list typed `list[Section] | None`: null, or an array of objects read by member(). */
static int read_list(Cursor *c, Glance *g, Member member) {
    if (is_null(c)) return 1;
    if (c->p >= c->end || *c->p != '[') return 0;
    if (++c->depth > MAX_DEPTH) return 0;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        c->depth--;
        return 1;
    }
    for (;;) {
        if (!read_object(c, g, member)) return 0;
        skip_ws(c);
        if (c->p >= c->end) return 0;
        if (*c->p == ',') {
            c->p++;
            skip_ws(c);
            continue;
        }
        if (*c->p != ']') return 0;
        c->p++;
        c->depth--;
        return 1;
    }
}

static inline int first_time(unsigned *seen, unsigned bit) {
    if (*seen & bit) return 0;
    *seen |= bit;
    return 1;
}

/* {"rrname": ...}: a DNS query or answer. */
static int query_member(Cursor *c, const Span *key, Glance *g, unsigned *seen) {
    if (key_is(key, "rrname", 6)) {
        Span name;
        return first_time(seen, 1) && read_text(c, &name) && push(g->names, &g->n_names, &name);
    }
    return skip_value(c);
}

static int dns_member(Cursor *c, const Span *key, Glance *g, unsigned *seen) {
    if (key_is(key, "rrname", 6)) {
        Span name;
        return first_time(seen, 1) && read_text(c, &name) && push(g->names, &g->n_names, &name);
    }
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
    if (key_is(key, "hash", 4)) {
        Span hash;
        return first_time(seen, 1) && read_text(c, &hash) && push(g->prints, &g->n_prints, &hash);
    }
    return skip_value(c);
}

static int tls_member(Cursor *c, const Span *key, Glance *g, unsigned *seen) {
    if (key_is(key, "sni", 3)) {
        Span name;
        return first_time(seen, 1) && read_text(c, &name) && push(g->names, &g->n_names, &name);
    }
    if (key_is(key, "ja3", 3)) return first_time(seen, 2) && read_section(c, g, fingerprint_member);
    if (key_is(key, "ja3s", 4)) return first_time(seen, 4) && read_section(c, g, fingerprint_member);
    if (key_is(key, "ja4", 3)) {
        Span print;
        return first_time(seen, 8) && read_text(c, &print) && push(g->prints, &g->n_prints, &print);
    }
    return skip_value(c);
}

static int file_member(Cursor *c, const Span *key, Glance *g, unsigned *seen) {
    unsigned bit = key_is(key, "md5", 3) ? 1 : key_is(key, "sha1", 4) ? 2 : key_is(key, "sha256", 6) ? 4 : 0;
    if (bit) {
        Span hash;
        return first_time(seen, bit) && read_text(c, &hash) && push(g->hashes, &g->n_hashes, &hash);
    }
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
    /* Plain strings hold printable ASCII only (scan_string), so the copy is the str. */
    PyObject *str = PyUnicode_New(s->n, 127);
    if (str != NULL) memcpy(PyUnicode_DATA(str), s->s, (size_t)s->n);
    return str;
}

/* memo[value] (a dict subclass answering misses): its answer's truth, or -1 on an error. */
static int ask(PyObject *memo, const Span *value) {
    PyObject *key = text(value);
    if (key == NULL) return -1;
    PyObject *answer = PyObject_GetItem(memo, key);
    Py_DECREF(key);
    if (answer == NULL) return -1;
    int truth = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    return truth;
}

static int call_truth(PyObject *function, const Span *value) {
    PyObject *key = text(value);
    if (key == NULL) return -1;
    PyObject *answer = PyObject_CallOneArg(function, key);
    Py_DECREF(key);
    if (answer == NULL) return -1;
    int truth = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    return truth;
}

/* Whether the timestamp parses as eve.py reads it, as EveScreen._screen_python decides it:
 * Suricata's layout with a second and an offset known to parse, else timestamp(stamp). The
 * last second found good is remembered here: whether a string parses does not change. */
typedef struct {
    char second[19];
    char zone[5];
    int known;
} Clock;

static int stamp_ok(const Span *stamp, Clock *clock, PyObject *seconds, PyObject *zones,
                    PyObject *timestamp) {
    const char *s = stamp->s;
    if (stamp->n == 31 && s[19] == '.') {
        int digits = 1;
        for (int i = 20; i < 26; i++) digits &= (s[i] >= '0' && s[i] <= '9');
        if (digits) {
            if (clock->known && memcmp(clock->second, s, 19) == 0 && memcmp(clock->zone, s + 26, 5) == 0)
                return 1;
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
                if (in_zones) {
                    memcpy(clock->second, s, 19);
                    memcpy(clock->zone, s + 26, 5);
                    clock->known = 1;
                    return 1;
                }
            }
        }
    }
    return call_truth(timestamp, stamp);
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

/* Whether an indicator may match the line's observables: 1 keep, 0 count, -1 error. */
static int may_match(const Glance *g, PyObject *names, PyObject *hosts, PyObject *digest) {
    if (g->url.n >= 0 && (g->url.n == 0 || g->url.s[0] != '/'))
        return 1; /* an absolute URL, CONNECT's or OPTIONS' target */
    if (g->hostname.n > 0) {
        int hit = ask(hosts, &g->hostname);
        if (hit != 0) return hit;
    }
    for (int i = 0; i < g->n_names; i++) {
        int hit = ask(names, &g->names[i]);
        if (hit != 0) return hit;
    }
    for (int i = 0; i < g->n_prints; i++) {
        int hit = call_truth(digest, &g->prints[i]);
        if (hit != 0) return hit;
    }
    for (int i = 0; i < g->n_hashes; i++) {
        int hit = call_truth(digest, &g->hashes[i]);
        if (hit != 0) return hit;
    }
    return 0;
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

static PyObject *data_name;

PyDoc_STRVAR(screen_doc,
             "screen(records, sensor, owners, names, hosts, digest, seconds, zones,\n"
             "       timestamp, full, count_unattributed) -> (rest, runs)\n\n"
             "EveScreen's loop: the records for the full parser, in order, and the runs of\n"
             "counted lines as (sensor, alone, along). digest None: no indicator screening.");

static PyObject *screen(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 11) {
        PyErr_SetString(PyExc_TypeError, "screen() takes 11 arguments");
        return NULL;
    }
    PyObject *records = args[0], *sensor = args[1], *owners = args[2], *names = args[3];
    PyObject *hosts = args[4], *digest = args[5], *seconds = args[6], *zones = args[7];
    PyObject *timestamp = args[8], *full = args[9];
    int count_unattributed = PyObject_IsTrue(args[10]);
    if (count_unattributed < 0) return NULL;
    if (!PyList_Check(records) || !PyAnySet_Check(seconds) || !PyAnySet_Check(zones)) {
        PyErr_SetString(PyExc_TypeError, "screen(): records must be a list, seconds and zones sets");
        return NULL;
    }
    int screening = digest != Py_None;
    int by_batch = PyObject_IsTrue(sensor);
    if (by_batch < 0) return NULL;

    PyObject *rest = PyList_New(0), *runs = PyList_New(0);
    PyObject *last = NULL;          /* the sensor of the current run (a new reference) */
    const char *last_host = NULL;   /* its host member's bytes, while they are this batch's */
    Py_ssize_t last_host_n = -2;    /* -2: no run yet; -1: no host member */
    Py_ssize_t alone = 0, along = 0;
    Clock clock = {{0}, {0}, 0};
    Glance g;
    if (rest == NULL || runs == NULL) goto error;

    Py_ssize_t total = PyList_GET_SIZE(records);
    for (Py_ssize_t i = 0; i < total; i++) {
        PyObject *record = PyList_GET_ITEM(records, i);
        PyObject *data = PyObject_GetAttr(record, data_name);
        if (data == NULL) goto error;
        int counted = 0;
        PyObject *source = NULL, *target = NULL;
        if (PyBytes_Check(data) && glance(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), &g) &&
            !full_type(&g.event_type) && g.timestamp.n >= 0) {
            int ok = stamp_ok(&g.timestamp, &clock, seconds, zones, timestamp);
            if (ok < 0) goto error_line;
            if (ok) {
                source = owner_of(owners, &g.src_ip);
                if (source == NULL) goto error_line;
                if (source != full) {
                    target = owner_of(owners, &g.dest_ip);
                    if (target == NULL) goto error_line;
                    if (target != full) {
                        int keep = screening ? may_match(&g, names, hosts, digest) : 0;
                        if (keep < 0) goto error_line;
                        counted = !keep;
                    }
                }
            }
        }
        if (counted) {
            /* The run's sensor: the batch's, or the line's host member (None when absent). */
            Py_ssize_t host_n = by_batch ? -1 : g.host.n;
            if (last_host_n == -2 || host_n != last_host_n ||
                (host_n > 0 && memcmp(g.host.s, last_host, (size_t)host_n) != 0)) {
                if (last_host_n != -2 && add_run(runs, last, alone, along) < 0) goto error_line;
                alone = along = 0;
                Py_XDECREF(last);
                last = by_batch ? Py_NewRef(sensor) : host_n < 0 ? Py_NewRef(Py_None) : text(&g.host);
                if (last == NULL) goto error_line;
                last_host = g.host.s;
                last_host_n = host_n;
            }
            if (source == Py_None && target == Py_None && count_unattributed)
                alone++;
            else
                along++;
        } else if (PyList_Append(rest, record) < 0) {
            goto error_line;
        }
        Py_XDECREF(source);
        Py_XDECREF(target);
        /* last_host points into a line's bytes: the records list holds them for this call. */
        Py_DECREF(data);
        continue;
    error_line:
        Py_XDECREF(source);
        Py_XDECREF(target);
        Py_DECREF(data);
        goto error;
    }
    if (last_host_n != -2 && add_run(runs, last, alone, along) < 0) goto error;
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
    {"glance", glance_line, METH_O, glance_doc},
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
    if (data_name == NULL) return NULL;
    return PyModule_Create(&module_def);
}
