/* The Shadowserver lane in C: a batch of plain report records (header + one row each) turned
 * straight into the events table's rows, attributed, with their fingerprints, `data` JSON and
 * alert windows, without an Event or a row dict per record.
 *
 * Why C: a report row took ~25 us of Python on the reading thread (cells split, the compiled
 * rows function, msgspec's convert and encode, blake2b, the row dict), all under the GIL that
 * the writer needs too. Here a row costs one pass over its bytes plus the attribution calls.
 *
 * The rule that keeps this safe is the compiled path's: at the first record that is not plain,
 * or a cell the inline rules do not accept (the converter would have to decide), or an
 * observable the indicator screen says could match, the call answers None and the caller
 * parses the whole batch the general way, which is exact and names bad rows. So the lane never
 * quarantines and never matches; it only takes batches whose outcome it can compute exactly.
 * monitoring/parsers/shadowserver_lane.py builds the spec from the parser's plan and documents
 * the contract; tests hold every row, byte for byte, to the general path.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <arpa/inet.h>
#include <datetime.h>
#include <stdint.h>
#include <string.h>
#include "_blake2b.h"

/* Kinds of a step (shadowserver_lane.py: the plan's fast paths, and _lower). */
enum { K_TIME = 1, K_IP = 2, K_PORT = 3, K_ASN = 4, K_HOST = 5, K_LOWER = 6 };
/* Roles of a slot: where a value is read for a column or for attribution. */
enum { R_TIME, R_SIP, R_SPORT, R_SASN, R_SFQDN, R_DIP, R_DPORT, R_DASN, R_DFQDN, N_ROLES };
/* Program items of the `data` JSON. */
enum { P_CONST = 0, P_SLOT = 1, P_EXTRA = 2 };
/* Columns of the events table (monitoring.model.EVENT_COLUMNS) the lane fills per row. */
enum {
    C_FINGERPRINT = 1, C_TIME_SOURCE = 2, C_SOURCE_IP = 11, C_SOURCE_PORT = 12,
    C_DESTINATION_IP = 13, C_DESTINATION_PORT = 14, C_SOURCE_MEMBER = 15,
    C_DESTINATION_MEMBER = 16, C_DATA = 19, C_RAW = 20, N_COLUMNS = 21,
};
#define MAX_CELLS 512
#define MAX_SLOTS 64
#define MAX_ITEMS 128

typedef struct { int cell, kind, slot; } Step;
typedef struct { int kind, slot; const char *bytes; Py_ssize_t n; const char *fallback; Py_ssize_t fallback_n; } Item;
typedef struct { int cell; const char *key; Py_ssize_t n; } Extra;
typedef struct { int slot; PyObject *method; } Check;

typedef struct {
    int width, n_steps, n_slots, n_items, n_extras, n_checks;
    Step steps[MAX_CELLS];
    int roles[N_ROLES];
    Item items[MAX_ITEMS];
    Extra extras[MAX_CELLS];
    Check checks[MAX_SLOTS];
    PyObject *columns; /* list: the template row */
    const char *prefix; /* fingerprint prefix: feed name, US, sensor, US */
    Py_ssize_t prefix_n, max_record;
} Spec;

enum { V_UNSET = 0, V_TEXT, V_INT, V_TIME };
typedef struct {
    int type;
    const char *s; /* V_TEXT: the text (in the row, or lowered into the scratch buffer) */
    Py_ssize_t n;
    long long i; /* V_INT; V_TIME: seconds since the epoch */
    int year, month, day, hour, minute, second;
} Value;

typedef struct { char *p; Py_ssize_t n, cap; } Buffer;

static int buffer_room(Buffer *b, Py_ssize_t more) {
    if (b->n + more <= b->cap) return 1;
    Py_ssize_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + more) cap *= 2;
    char *p = PyMem_RawRealloc(b->p, (size_t)cap); /* the raw allocator: no GIL needed */
    if (p == NULL) return 0;
    b->p = p;
    b->cap = cap;
    return 1;
}

static void put(Buffer *b, const char *s, Py_ssize_t n) { memcpy(b->p + b->n, s, n); b->n += n; }

/* The text as msgspec's JSON encoder writes it (the escapes of its output, byte for byte). */
static int put_json_text(Buffer *b, const char *s, Py_ssize_t n) {
    static const char hex[] = "0123456789abcdef";
    if (!buffer_room(b, 6 * n + 2)) return 0;
    b->p[b->n++] = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') { b->p[b->n++] = (char)c; continue; }
        b->p[b->n++] = '\\';
        switch (c) {
        case '"': b->p[b->n++] = '"'; break;
        case '\\': b->p[b->n++] = '\\'; break;
        case '\b': b->p[b->n++] = 'b'; break;
        case '\t': b->p[b->n++] = 't'; break;
        case '\n': b->p[b->n++] = 'n'; break;
        case '\f': b->p[b->n++] = 'f'; break;
        case '\r': b->p[b->n++] = 'r'; break;
        default:
            put(b, "u00", 3);
            b->p[b->n++] = hex[c >> 4];
            b->p[b->n++] = hex[c & 15];
        }
    }
    b->p[b->n++] = '"';
    return 1;
}

static int read_int(PyObject *o, int *out) {
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) return 0;
    *out = (int)v;
    return 1;
}

static int bytes_of(PyObject *o, const char **s, Py_ssize_t *n) {
    if (!PyBytes_Check(o)) {
        PyErr_SetString(PyExc_TypeError, "the lane's spec holds bytes where text goes");
        return 0;
    }
    *s = PyBytes_AS_STRING(o);
    *n = PyBytes_GET_SIZE(o);
    return 1;
}

/* Read the spec shadowserver_lane.lane_spec built (its layout is documented there). The spec's
 * objects outlive the call: the caller holds the tuple. */
static int read_spec(PyObject *spec, PyObject *screen, Spec *out) {
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) != 10) {
        PyErr_SetString(PyExc_TypeError, "the lane's spec is a 10-tuple");
        return 0;
    }
    PyObject *steps = PyTuple_GET_ITEM(spec, 1), *roles = PyTuple_GET_ITEM(spec, 3);
    PyObject *items = PyTuple_GET_ITEM(spec, 4), *extras = PyTuple_GET_ITEM(spec, 5);
    PyObject *checks = PyTuple_GET_ITEM(spec, 6);
    if (!read_int(PyTuple_GET_ITEM(spec, 0), &out->width) ||
        !read_int(PyTuple_GET_ITEM(spec, 2), &out->n_slots))
        return 0;
    if (!PyTuple_Check(steps) || !PyTuple_Check(roles) || PyTuple_GET_SIZE(roles) != N_ROLES ||
        !PyTuple_Check(items) || !PyTuple_Check(extras) || !PyTuple_Check(checks) ||
        PyTuple_GET_SIZE(steps) > MAX_CELLS || PyTuple_GET_SIZE(extras) > MAX_CELLS ||
        PyTuple_GET_SIZE(items) > MAX_ITEMS || PyTuple_GET_SIZE(checks) > MAX_SLOTS ||
        out->width < 1 || out->width > MAX_CELLS || out->n_slots < 0 || out->n_slots > MAX_SLOTS) {
        PyErr_SetString(PyExc_ValueError, "the lane's spec is out of bounds");
        return 0;
    }
    out->n_steps = (int)PyTuple_GET_SIZE(steps);
    for (int i = 0; i < out->n_steps; i++) {
        PyObject *t = PyTuple_GET_ITEM(steps, i);
        Step *s = &out->steps[i];
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3 || !read_int(PyTuple_GET_ITEM(t, 0), &s->cell) ||
            !read_int(PyTuple_GET_ITEM(t, 1), &s->kind) || !read_int(PyTuple_GET_ITEM(t, 2), &s->slot))
            goto bad;
        if (s->cell < 0 || s->cell >= out->width || s->slot < 0 || s->slot >= out->n_slots ||
            s->kind < K_TIME || s->kind > K_LOWER)
            goto bad;
    }
    for (int i = 0; i < N_ROLES; i++) {
        if (!read_int(PyTuple_GET_ITEM(roles, i), &out->roles[i])) return 0;
        if (out->roles[i] < -1 || out->roles[i] >= out->n_slots) goto bad;
    }
    out->n_items = (int)PyTuple_GET_SIZE(items);
    for (int i = 0; i < out->n_items; i++) {
        PyObject *t = PyTuple_GET_ITEM(items, i);
        Item *it = &out->items[i];
        memset(it, 0, sizeof *it);
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) < 1 || !read_int(PyTuple_GET_ITEM(t, 0), &it->kind))
            goto bad;
        if (it->kind == P_CONST) {
            if (PyTuple_GET_SIZE(t) != 2 || !bytes_of(PyTuple_GET_ITEM(t, 1), &it->bytes, &it->n)) goto bad;
        } else if (it->kind == P_SLOT) {
            if (PyTuple_GET_SIZE(t) != 4 || !read_int(PyTuple_GET_ITEM(t, 1), &it->slot) ||
                !bytes_of(PyTuple_GET_ITEM(t, 2), &it->bytes, &it->n))
                goto bad;
            PyObject *fallback = PyTuple_GET_ITEM(t, 3);
            if (fallback != Py_None && !bytes_of(fallback, &it->fallback, &it->fallback_n)) goto bad;
            if (it->slot < 0 || it->slot >= out->n_slots) goto bad;
        } else if (it->kind != P_EXTRA) {
            goto bad;
        }
    }
    out->n_extras = (int)PyTuple_GET_SIZE(extras);
    for (int i = 0; i < out->n_extras; i++) {
        PyObject *t = PyTuple_GET_ITEM(extras, i);
        Extra *e = &out->extras[i];
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 2 || !read_int(PyTuple_GET_ITEM(t, 0), &e->cell) ||
            !bytes_of(PyTuple_GET_ITEM(t, 1), &e->key, &e->n) || e->cell < 0 || e->cell >= out->width)
            goto bad;
    }
    out->n_checks = 0;
    if (screen != Py_None) {
        static const char *names[] = {NULL, "hits_ip", "hits_name", "hits_digest"};
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(checks); i++) {
            PyObject *t = PyTuple_GET_ITEM(checks, i);
            int slot, which;
            if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 2 || !read_int(PyTuple_GET_ITEM(t, 0), &slot) ||
                !read_int(PyTuple_GET_ITEM(t, 1), &which) || slot < 0 || slot >= out->n_slots ||
                which < 1 || which > 3)
                goto bad;
            /* A new reference, released by release_spec. */
            PyObject *method = PyObject_GetAttrString(screen, names[which]);
            if (method == NULL) return 0;
            out->checks[out->n_checks].slot = slot;
            out->checks[out->n_checks++].method = method;
        }
    }
    out->columns = PyTuple_GET_ITEM(spec, 7);
    if (!PyList_Check(out->columns) || PyList_GET_SIZE(out->columns) != N_COLUMNS) goto bad;
    if (!bytes_of(PyTuple_GET_ITEM(spec, 8), &out->prefix, &out->prefix_n)) return 0;
    out->max_record = PyLong_AsSsize_t(PyTuple_GET_ITEM(spec, 9));
    if (out->max_record == -1 && PyErr_Occurred()) return 0;
    return 1;
bad:
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "the lane's spec is malformed");
    return 0;
}

static void release_spec(Spec *spec) {
    for (int i = 0; i < spec->n_checks; i++) Py_CLEAR(spec->checks[i].method);
    spec->n_checks = 0;
}

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }
static inline int alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static inline char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }
/* What Python's str.isspace() holds among ASCII bytes (str.strip() removes these). */
static inline int space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

/* Days from 1970-01-01 to a proleptic Gregorian date. */
static long long days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int two(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/* "YYYY-MM-DD HH:MM:SS" (or with a T), a real date and time: what the compiled path's
 * fromisoformat(value + "+00:00") takes for a 19-character cell. Anything else is 0: the
 * converter decides, in the general path. */
static int read_time(const char *s, Py_ssize_t n, Value *v) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (n != 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' ||
        s[16] != ':')
        return 0;
    static const int at[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    for (int i = 0; i < 14; i++)
        if (!is_digit(s[at[i]])) return 0;
    int year = two(s) * 100 + two(s + 2), month = two(s + 5), day = two(s + 8);
    int hour = two(s + 11), minute = two(s + 14), second = two(s + 17);
    if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59)
        return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > mdays[month - 1] + (month == 2 && leap)) return 0;
    v->type = V_TIME;
    v->year = year, v->month = month, v->day = day;
    v->hour = hour, v->minute = minute, v->second = second;
    v->i = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    return 1;
}

/* Decimal digits only, at most `limit`; the value in *out. */
static int read_number(const char *s, Py_ssize_t n, long long limit, long long *out) {
    long long v = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) return 0;
        v = v * 10 + (s[i] - '0');
        if (v > limit) return 0;
    }
    *out = v;
    return 1;
}

/* One step's cell into its slot; 0 when the inline rule does not take it (the general path
 * decides). `scratch` has room for the row's length: lowered text goes there. */
static int take_cell(const Step *step, const char *s, Py_ssize_t n, Value *slots, char **scratch) {
    Value *v = &slots[step->slot];
    long long number;
    switch (step->kind) {
    case K_TIME:
        return read_time(s, n, v);
    case K_IP: {
        char text[16];
        unsigned char address[4];
        if (n > 15) return 0;
        memcpy(text, s, n);
        text[n] = 0;
        if (inet_pton(AF_INET, text, address) != 1) return 0;
        v->type = V_TEXT, v->s = s, v->n = n;
        return 1;
    }
    case K_PORT:
        if (!read_number(s, n, 65535, &number)) return 0;
        v->type = V_INT, v->i = number;
        return 1;
    case K_ASN:
        if (!read_number(s, n, 4294967295LL, &number)) return 0;
        if (number != 0) v->type = V_INT, v->i = number; /* 0 is Shadowserver's "unknown" */
        return 1;
    case K_HOST: {
        if (!alpha(s[n - 1]) || !(alpha(s[0]) || is_digit(s[0]))) return 0;
        char *out = *scratch;
        for (Py_ssize_t i = 0; i < n; i++) {
            if ((unsigned char)s[i] >= 0x80) return 0;
            out[i] = lower(s[i]);
        }
        *scratch += n;
        v->type = V_TEXT, v->s = out, v->n = n;
        return 1;
    }
    case K_LOWER: {
        Py_ssize_t start = 0, end = n;
        for (Py_ssize_t i = 0; i < n; i++)
            if ((unsigned char)s[i] >= 0x80) return 0;
        while (start < end && space(s[start])) start++;
        while (end > start && space(s[end - 1])) end--;
        char *out = *scratch;
        for (Py_ssize_t i = start; i < end; i++) out[i - start] = lower(s[i]);
        *scratch += end - start;
        v->type = V_TEXT, v->s = out, v->n = end - start;
        return 1;
    }
    }
    return 0;
}

static PyObject *text_of(const Value *v) { return PyUnicode_DecodeUTF8(v->s, v->n, NULL); }

static PyObject *object_of(const Value *v) {
    if (v->type == V_INT) return PyLong_FromLongLong(v->i);
    if (v->type == V_TEXT) return text_of(v);
    if (v->type == V_TIME)
        return PyDateTimeAPI->DateTime_FromDateAndTime(v->year, v->month, v->day, v->hour, v->minute,
                                                       v->second, 0, PyDateTime_TimeZone_UTC,
                                                       PyDateTimeAPI->DateTimeType);
    Py_RETURN_NONE;
}

/* The owner of one side, as BatchProcessor.process asks: by address, else by host name, else by
 * AS number. A new reference (Py_None for nobody), NULL on error. `ip` is the side's address as
 * a str, or NULL. */
static PyObject *owner_of(PyObject *const *ask, PyObject *ip, const Value *fqdn, const Value *asn) {
    PyObject *owner = ip != NULL ? PyObject_CallOneArg(ask[0], ip) : Py_NewRef(Py_None);
    if (owner != Py_None || (fqdn->type != V_TEXT && asn->type != V_INT)) return owner;
    Py_DECREF(owner);
    if (fqdn->type == V_TEXT && fqdn->n > 0) {
        PyObject *name = text_of(fqdn);
        if (name == NULL) return NULL;
        owner = PyObject_CallOneArg(ask[1], name);
        Py_DECREF(name);
        if (owner != Py_None) return owner;
        Py_DECREF(owner);
    }
    if (asn->type != V_INT) Py_RETURN_NONE;
    PyObject *number = PyLong_FromLongLong(asn->i);
    if (number == NULL) return NULL;
    owner = PyObject_CallOneArg(ask[2], number);
    Py_DECREF(number);
    return owner;
}

/* The `data` JSON of one row, appended to b. */
static int build_data(const Spec *spec, const Value *slots, const char *const *cell,
                      const Py_ssize_t *size, Buffer *b) {
    if (!buffer_room(b, 2)) return 0;
    b->p[b->n++] = '{';
    int first = 1;
    for (int i = 0; i < spec->n_items; i++) {
        const Item *it = &spec->items[i];
        if (it->kind == P_CONST || (it->kind == P_SLOT && slots[it->slot].type == V_UNSET)) {
            const char *s = it->kind == P_CONST ? it->bytes : it->fallback;
            Py_ssize_t n = it->kind == P_CONST ? it->n : it->fallback_n;
            if (s == NULL) continue;
            if (!buffer_room(b, n + 1)) return 0;
            if (!first) b->p[b->n++] = ',';
            put(b, s, n);
        } else if (it->kind == P_SLOT) {
            const Value *v = &slots[it->slot];
            if (!buffer_room(b, it->n + 24)) return 0;
            if (!first) b->p[b->n++] = ',';
            put(b, it->bytes, it->n);
            if (v->type == V_INT) {
                b->n += snprintf(b->p + b->n, 24, "%lld", v->i);
            } else if (!put_json_text(b, v->s, v->n)) {
                return 0;
            }
        } else { /* P_EXTRA: the non-empty cells kept in extra, in the plan's order */
            int any = 0;
            for (int e = 0; e < spec->n_extras; e++) {
                const Extra *x = &spec->extras[e];
                Py_ssize_t n = size[x->cell];
                if (n == 0) continue;
                if (!buffer_room(b, x->n + 12)) return 0;
                if (!any) {
                    if (!first) b->p[b->n++] = ',';
                    put(b, "\"extra\":{", 9);
                } else {
                    b->p[b->n++] = ',';
                }
                any = 1;
                put(b, x->key, x->n);
                if (!put_json_text(b, cell[x->cell], n)) return 0;
            }
            if (!any) continue;
            if (!buffer_room(b, 1)) return 0;
            b->p[b->n++] = '}';
        }
        first = 0;
    }
    if (!buffer_room(b, 1)) return 0;
    b->p[b->n++] = '}';
    return 1;
}

/* A str made of one row's value (NULL when the slot is unset: the template's value stays). */
static int set_column(PyObject *row, int column, PyObject *value) {
    if (value == NULL) return 0;
    PyObject *old = PyList_GET_ITEM(row, column);
    PyList_SET_ITEM(row, column, value);
    Py_DECREF(old);
    return 1;
}

static PyObject *new_row(PyObject *columns) {
    PyObject *row = PyList_New(N_COLUMNS);
    if (row == NULL) return NULL;
    for (int i = 0; i < N_COLUMNS; i++) PyList_SET_ITEM(row, i, Py_NewRef(PyList_GET_ITEM(columns, i)));
    return row;
}

/* Split a row at its commas as csv.reader does for the rows the lane takes: a cell is either
 * plain (no quote in it) or wholly quoted, "" inside standing for one quote (copied unquoted
 * into *scratch). Returns the number of cells, or -1 (more than `most`, or any other use of
 * quotes: the general path reads it). */
static int split_cells(const char *row, Py_ssize_t n, int most, const char **cell, Py_ssize_t *size,
                       char **scratch) {
    int cells = 0;
    Py_ssize_t i = 0;
    for (;;) {
        if (cells == most) return -1;
        if (i < n && row[i] == '"') {
            Py_ssize_t start = ++i, doubled = 0;
            for (;;) {
                const char *quote = memchr(row + i, '"', (size_t)(n - i));
                if (quote == NULL) return -1; /* open to the line's end */
                i = quote - row;
                if (i + 1 < n && row[i + 1] == '"') {
                    doubled++;
                    i += 2;
                    continue;
                }
                break;
            }
            Py_ssize_t end = i++; /* past the closing quote: a comma or the end must follow */
            if (i < n && row[i] != ',') return -1;
            if (doubled == 0) {
                cell[cells] = row + start;
                size[cells] = end - start;
            } else {
                char *out = *scratch;
                Py_ssize_t k = 0;
                for (Py_ssize_t j = start; j < end; j++) {
                    out[k++] = row[j];
                    if (row[j] == '"') j++;
                }
                cell[cells] = out;
                size[cells] = k;
                *scratch += k;
            }
        } else {
            const char *comma = i < n ? memchr(row + i, ',', (size_t)(n - i)) : NULL;
            Py_ssize_t end = comma != NULL ? comma - row : n;
            if (memchr(row + i, '"', (size_t)(end - i)) != NULL) return -1;
            cell[cells] = row + i;
            size[cells] = end - i;
            i = end;
        }
        cells++;
        if (i >= n) return cells;
        i++; /* the comma */
        if (i == n) { /* a comma ends the row: one more, empty cell */
            if (cells == most) return -1;
            cell[cells] = row + n;
            size[cells++] = 0;
            return cells;
        }
    }
}

/* One record after the first pass, which runs without the GIL: its row, its slots, and, where
 * it became a row to store, its `data` JSON (in the data buffer) and fingerprint. */
typedef struct {
    const char *row;
    Py_ssize_t n;
    int ascii;
    Value *slots;           /* spec->n_slots values */
    Py_ssize_t data_at, data_n;
    char digest[32];
} Parsed;

typedef struct {
    const Spec *spec;
    const char *header;
    Py_ssize_t header_n;
    Buffer data;   /* every row's `data` JSON, one after another (offsets: it may move) */
    char *scratch; /* unquoted cells and lowered values: sized once, so spans stay valid */
    const char *cell[MAX_CELLS]; /* each cell's text: in the row, or unquoted in scratch */
    Py_ssize_t size[MAX_CELLS];
} Pass;

/* Strict UTF-8, as Python's decoder checks it: no overlong forms, surrogates or code points
 * past U+10FFFF. */
static int valid_utf8(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        int more;
        unsigned char low = 0x80, high = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) more = 1;
        else if (c == 0xe0) more = 2, low = 0xa0;
        else if (c == 0xed) more = 2, high = 0x9f;
        else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) more = 2;
        else if (c == 0xf0) more = 3, low = 0x90;
        else if (c >= 0xf1 && c <= 0xf3) more = 3;
        else if (c == 0xf4) more = 3, high = 0x8f;
        else return 0;
        if (i + more > n - 1) return 0; /* cut short by the row's end */
        if (s[i + 1] < low || s[i + 1] > high) return 0;
        for (int k = 2; k <= more; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf) return 0;
        i += more + 1;
    }
    return 1;
}

/* The first pass over one record, without the GIL: 1 taken (parsed, `data` and fingerprint
 * made), 0 not one the lane takes (the batch goes to the general path), -1 out of memory. */
static int first_pass(Pass *pass, const char *s, Py_ssize_t n, Parsed *out) {
    const Spec *spec = pass->spec;
    if (n > spec->max_record || n <= pass->header_n || memcmp(s, pass->header, pass->header_n) != 0)
        return 0;
    const char *row = s + pass->header_n;
    n -= pass->header_n;
    if (row[n - 1] == '\n') {
        n--;
        if (n > 0 && row[n - 1] == '\r') n--;
    }
    if (n == 0) return 0;
    int ascii = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)row[i];
        if (c == '\n' || c == '\r' || c == 0) return 0;
        if (c >= 0x80) ascii = 0;
    }
    /* bytes that are not UTF-8 go to the general path, which says so */
    if (!ascii && !valid_utf8((const unsigned char *)row, n)) return 0;
    out->row = row, out->n = n, out->ascii = ascii;
    Value *slots = out->slots;
    memset(slots, 0, sizeof(Value) * (size_t)spec->n_slots);
    char *scratch = pass->scratch;
    int cells = split_cells(row, n, spec->width, pass->cell, pass->size, &scratch);
    if (cells != spec->width) return 0;
    for (int i = 0; i < spec->n_steps; i++) {
        const Step *step = &spec->steps[i];
        Py_ssize_t len = pass->size[step->cell];
        if (len == 0) continue; /* an empty cell leaves the field as it was */
        if (!take_cell(step, pass->cell[step->cell], len, slots, &scratch)) return 0;
    }
    pass->scratch = scratch;
    if (slots[spec->roles[R_TIME]].type != V_TIME) return 0;
    Py_ssize_t at = pass->data.n; /* an offset: the buffer may move as it grows */
    if (!build_data(spec, slots, pass->cell, pass->size, &pass->data)) return -1;
    out->data_at = at, out->data_n = pass->data.n - at;
    Blake2b hash;
    blake2b_begin(&hash, 16);
    blake2b_add(&hash, (const uint8_t *)spec->prefix, (size_t)spec->prefix_n);
    blake2b_add(&hash, (const uint8_t *)row, (size_t)n);
    blake2b_hex(&hash, out->digest);
    return 1;
}

/* The time text SQLite stores for a UTCDateTime (store_sqlite.stored_time): microseconds, no
 * offset. */
static PyObject *stored_text(const Value *v) {
    char text[32];
    snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d.000000", v->year, v->month, v->day,
             v->hour, v->minute, v->second);
    return PyUnicode_FromStringAndSize(text, 26);
}

typedef struct {
    const Spec *spec;
    PyObject *ask[3];
    int store_unattributed, text_times;
    long long window;
    PyObject *rows, *windows, *times;
    const char *data;
} Second;

/* The second pass over one parsed record, with the GIL: the indicator screen, attribution and
 * the row's objects. 1 kept (appended), 2 touched no member (counted), 0 an indicator could
 * match (give up), -1 error. */
static int second_pass(Second *lane, const Parsed *p) {
    const Spec *spec = lane->spec;
    const Value *slots = p->slots;
    for (int i = 0; i < spec->n_checks; i++) { /* could an indicator match? the general path */
        const Value *v = &slots[spec->checks[i].slot];
        if (v->type != V_TEXT) continue;
        PyObject *text = text_of(v);
        if (text == NULL) return -1;
        PyObject *hit = PyObject_CallOneArg(spec->checks[i].method, text);
        Py_DECREF(text);
        if (hit == NULL) return -1;
        int truth = PyObject_IsTrue(hit);
        Py_DECREF(hit);
        if (truth != 0) return truth < 0 ? -1 : 0;
    }
    const int *roles = spec->roles;
    static const Value unset = {0};
#define SLOT(role) (roles[role] >= 0 ? &slots[roles[role]] : &unset)
    PyObject *sip = SLOT(R_SIP)->type == V_TEXT ? text_of(SLOT(R_SIP)) : NULL;
    PyObject *dip = SLOT(R_DIP)->type == V_TEXT ? text_of(SLOT(R_DIP)) : NULL;
    PyObject *source = NULL, *target = NULL, *out = NULL, *when = NULL;
    int result = -1;
    if ((SLOT(R_SIP)->type == V_TEXT && sip == NULL) || (SLOT(R_DIP)->type == V_TEXT && dip == NULL))
        goto done;
    source = owner_of(lane->ask, sip, SLOT(R_SFQDN), SLOT(R_SASN));
    if (source == NULL) goto done;
    target = owner_of(lane->ask, dip, SLOT(R_DFQDN), SLOT(R_DASN));
    if (target == NULL) goto done;
    if (source == Py_None && target == Py_None && !lane->store_unattributed) {
        result = 2;
        goto done;
    }
    out = new_row(spec->columns);
    if (out == NULL) goto done;
    const Value *at = SLOT(R_TIME);
    when = object_of(at);
    if (when == NULL) goto done;
    if (!set_column(out, C_FINGERPRINT, PyUnicode_FromStringAndSize(p->digest, 32)) ||
        !set_column(out, C_TIME_SOURCE, lane->text_times ? stored_text(at) : Py_NewRef(when)) ||
        !set_column(out, C_SOURCE_MEMBER, Py_NewRef(source)) ||
        !set_column(out, C_DESTINATION_MEMBER, Py_NewRef(target)) ||
        !set_column(out, C_DATA, PyUnicode_DecodeUTF8(lane->data + p->data_at, p->data_n, NULL)) ||
        !set_column(out, C_RAW, p->ascii ? PyUnicode_DecodeASCII(p->row, p->n, NULL)
                                         : PyUnicode_DecodeUTF8(p->row, p->n, NULL)))
        goto done;
    if ((sip != NULL && !set_column(out, C_SOURCE_IP, Py_NewRef(sip))) ||
        (dip != NULL && !set_column(out, C_DESTINATION_IP, Py_NewRef(dip))))
        goto done;
    if ((SLOT(R_SPORT)->type == V_INT && !set_column(out, C_SOURCE_PORT, object_of(SLOT(R_SPORT)))) ||
        (SLOT(R_DPORT)->type == V_INT && !set_column(out, C_DESTINATION_PORT, object_of(SLOT(R_DPORT)))))
        goto done;
    long long seconds = at->i, window = lane->window;
    window = (seconds >= 0 ? seconds : seconds - window + 1) / window * window;
    PyObject *start_of = PyLong_FromLongLong(window);
    if (start_of == NULL) goto done;
    int failed = PyList_Append(lane->rows, out) < 0 || PyList_Append(lane->windows, start_of) < 0 ||
                 PyList_Append(lane->times, when) < 0;
    Py_DECREF(start_of);
    if (!failed) result = 1;
#undef SLOT
done:
    Py_XDECREF(when);
    Py_XDECREF(out);
    Py_XDECREF(source);
    Py_XDECREF(target);
    Py_XDECREF(sip);
    Py_XDECREF(dip);
    return result;
}

PyDoc_STRVAR(rows_doc,
             "rows(records, header, spec, owners, screen, store_unattributed, window_seconds,\n"
             "     text_times)\n"
             "--\n\n"
             "The events table's rows of records that each hold header and one row: (rows,\n"
             "windows, times, unattributed), or None when one record is not one the lane takes.\n"
             "See shadowserver_lane.py.");

static PyObject *lane_rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 8 || !PyList_Check(args[0]) || !PyBytes_Check(args[1]) || !PyTuple_Check(args[3]) ||
        PyTuple_GET_SIZE(args[3]) != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "rows(records: list[bytes], header: bytes, spec, (owner_of_ip, "
                        "owner_of_domain, owner_of_asn), screen, store_unattributed, window_seconds, "
                        "text_times)");
        return NULL;
    }
    Spec spec;
    memset(&spec, 0, sizeof spec);
    if (!read_spec(args[2], args[4], &spec)) return NULL;
    Second lane;
    memset(&lane, 0, sizeof lane);
    lane.spec = &spec;
    for (int i = 0; i < 3; i++) lane.ask[i] = PyTuple_GET_ITEM(args[3], i);
    lane.store_unattributed = PyObject_IsTrue(args[5]);
    lane.window = PyLong_AsLongLong(args[6]);
    lane.text_times = PyObject_IsTrue(args[7]);
    PyObject *records = args[0], *answer = NULL;
    Py_ssize_t count = PyList_GET_SIZE(records), total = 0, unattributed = 0;
    Pass pass;
    memset(&pass, 0, sizeof pass);
    pass.spec = &spec;
    pass.header = PyBytes_AS_STRING(args[1]);
    pass.header_n = PyBytes_GET_SIZE(args[1]);
    Parsed *parsed = NULL;
    Value *values = NULL;
    char *scratch = NULL;
    if (lane.store_unattributed < 0 || lane.text_times < 0 || (lane.window == -1 && PyErr_Occurred()))
        goto done;
    if (lane.window < 1) {
        PyErr_SetString(PyExc_ValueError, "window_seconds must be positive");
        goto done;
    }
    /* The records' bytes, read with the GIL; the list and they stay alive (the caller holds
     * them) while the first pass reads them without it. */
    parsed = PyMem_RawCalloc((size_t)count + 1, sizeof(Parsed));
    values = PyMem_RawCalloc((size_t)count * (size_t)(spec.n_slots ? spec.n_slots : 1) + 1, sizeof(Value));
    if (parsed == NULL || values == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t r = 0; r < count; r++) {
        PyObject *record = PyList_GET_ITEM(records, r);
        if (!PyBytes_Check(record)) goto give_up;
        parsed[r].row = PyBytes_AS_STRING(record);
        parsed[r].n = PyBytes_GET_SIZE(record);
        parsed[r].slots = values + r * spec.n_slots;
        total += parsed[r].n;
    }
    /* Per row, the unquoted cells (at most the row's length) and each lowering step's copy of
     * its cell (at most the row's length each); a row is shorter than its record. */
    Py_ssize_t copies = 1;
    for (int i = 0; i < spec.n_steps; i++)
        copies += spec.steps[i].kind == K_HOST || spec.steps[i].kind == K_LOWER;
    scratch = PyMem_RawMalloc((size_t)(copies * total + 2 * count + 16));
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    pass.scratch = scratch;
    int outcome = 1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < count && outcome == 1; r++)
        outcome = first_pass(&pass, parsed[r].row, parsed[r].n, &parsed[r]);
    Py_END_ALLOW_THREADS
    if (outcome < 0) {
        PyErr_NoMemory();
        goto done;
    }
    if (outcome == 0) goto give_up;
    lane.rows = PyList_New(0);
    lane.windows = PyList_New(0);
    lane.times = PyList_New(0);
    if (lane.rows == NULL || lane.windows == NULL || lane.times == NULL) goto done;
    lane.data = pass.data.p;
    for (Py_ssize_t r = 0; r < count; r++) {
        int kept = second_pass(&lane, &parsed[r]);
        if (kept < 0) goto done;
        if (kept == 0) goto give_up;
        if (kept == 2) unattributed++;
    }
    answer = Py_BuildValue("(OOOn)", lane.rows, lane.windows, lane.times, unattributed);
    goto done;
give_up:
    answer = Py_NewRef(Py_None);
done:
    release_spec(&spec);
    Py_XDECREF(lane.rows);
    Py_XDECREF(lane.windows);
    Py_XDECREF(lane.times);
    PyMem_RawFree(pass.data.p);
    PyMem_RawFree(scratch);
    PyMem_RawFree(values);
    PyMem_RawFree(parsed);
    return answer;
}

PyDoc_STRVAR(fingerprint_doc,
             "fingerprint(prefix, row) -> str\n--\n\n"
             "The lane's BLAKE2b-128 of prefix + row, as hex (tests hold it to hashlib).");

static PyObject *fingerprint(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyBytes_Check(args[0]) || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "fingerprint(prefix: bytes, row: bytes)");
        return NULL;
    }
    Blake2b hash;
    char digest[32];
    blake2b_begin(&hash, 16);
    blake2b_add(&hash, (const uint8_t *)PyBytes_AS_STRING(args[0]), (size_t)PyBytes_GET_SIZE(args[0]));
    blake2b_add(&hash, (const uint8_t *)PyBytes_AS_STRING(args[1]), (size_t)PyBytes_GET_SIZE(args[1]));
    blake2b_hex(&hash, digest);
    return PyUnicode_FromStringAndSize(digest, 32);
}

static PyMethodDef methods[] = {
    {"rows", (PyCFunction)(void (*)(void))lane_rows, METH_FASTCALL, rows_doc},
    {"fingerprint", (PyCFunction)(void (*)(void))fingerprint, METH_FASTCALL, fingerprint_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_report_lane",
    "The Shadowserver lane in C (see shadowserver_lane.py, which does without it).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__report_lane(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
    return PyModule_Create(&module_def);
}
