/* The EVE screen's answers kept in C, so that the screen's first pass over a batch can read
 * them without the GIL (see _eve_glance.c), and Suricata's timestamp layout checked in C.
 *
 * A Table maps a key's bytes (an address, a name, a host as written) to a Python object: the
 * answer the screen's Python memos gave for it (an owner, None or `full`; True or False). It
 * is written only with the GIL held, in the screen's second pass, and read in the first pass
 * without it; the screen's lock keeps the two passes of different calls apart. Open
 * addressing, linear probing; cleared whole when half full, like the Python memos, so that an
 * answer is always one the memos gave for that key.
 */
#ifndef VARDEILD_EVE_MEMO_H
#define VARDEILD_EVE_MEMO_H

#include <stdint.h>

#define MEMO_KEY 55                /* longer keys are not kept: their lines take the second pass */
#define MEMO_FIRST_SLOTS (1u << 8) /* a table starts small (a screen per test line in tests) */
#define MEMO_SLOTS (1u << 16)      /* and grows to 65,536 slots of 72 bytes: 4.5 MiB */

typedef struct {
    uint64_t hash;   /* 0: an empty slot */
    PyObject *value; /* a strong reference */
    uint8_t length;
    char key[MEMO_KEY];
} Slot;

typedef struct {
    Slot *slots;
    size_t size; /* slots, a power of two */
    size_t used;
} Table;

static uint64_t key_hash(const char *key, Py_ssize_t length) {
    /* FNV-1a, then a final mix; never 0 (the empty mark). */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (Py_ssize_t i = 0; i < length; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 29;
    return h ? h : 1;
}

static int table_init(Table *table) {
    table->slots = PyMem_Calloc(MEMO_FIRST_SLOTS, sizeof(Slot));
    table->size = MEMO_FIRST_SLOTS;
    table->used = 0;
    return table->slots != NULL;
}

/* Drop every answer (the GIL held). */
static void table_clear(Table *table) {
    if (table->slots == NULL || table->used == 0) return;
    for (size_t i = 0; i < table->size; i++) {
        if (table->slots[i].hash) {
            Py_CLEAR(table->slots[i].value);
            table->slots[i].hash = 0;
        }
    }
    table->used = 0;
}

static void table_free(Table *table) {
    table_clear(table);
    PyMem_Free(table->slots);
    table->slots = NULL;
}

/* The answer for a key (a borrowed reference), or NULL when there is none. Safe without the
 * GIL: it only reads. */
static PyObject *table_get(const Table *table, const char *key, Py_ssize_t length) {
    if (length > MEMO_KEY) return NULL;
    uint64_t h = key_hash(key, length);
    size_t mask = table->size - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const Slot *slot = &table->slots[i];
        if (slot->hash == 0) return NULL;
        if (slot->hash == h && slot->length == length && memcmp(slot->key, key, (size_t)length) == 0)
            return slot->value;
    }
}

/* Twice the slots, the answers moved over; 0 when memory is short (the table stays). */
static int table_grow(Table *table) {
    size_t size = table->size * 2;
    Slot *slots = PyMem_Calloc(size, sizeof(Slot));
    if (slots == NULL) return 0;
    for (size_t j = 0; j < table->size; j++) {
        const Slot *old = &table->slots[j];
        if (old->hash == 0) continue;
        size_t i = (size_t)old->hash & (size - 1);
        while (slots[i].hash) i = (i + 1) & (size - 1);
        slots[i] = *old;
    }
    PyMem_Free(table->slots);
    table->slots = slots;
    table->size = size;
    return 1;
}

/* Keep an answer (the GIL held); keys too long to keep are left out. At most half the slots
 * are used: past that the table grows, and at its largest it is cleared. */
static void table_put(Table *table, const char *key, Py_ssize_t length, PyObject *value) {
    if (length > MEMO_KEY) return;
    if (table->used >= table->size / 2 && (table->size >= MEMO_SLOTS || !table_grow(table)))
        table_clear(table);
    uint64_t h = key_hash(key, length);
    size_t mask = table->size - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        Slot *slot = &table->slots[i];
        if (slot->hash == 0) {
            slot->hash = h;
            slot->length = (uint8_t)length;
            memcpy(slot->key, key, (size_t)length);
            slot->value = Py_NewRef(value);
            table->used++;
            return;
        }
        if (slot->hash == h && slot->length == length && memcmp(slot->key, key, (size_t)length) == 0) {
            Py_SETREF(slot->value, Py_NewRef(value));
            return;
        }
    }
}

/* The lower-case values of every hash and fingerprint indicator, as 64-bit hashes of their
 * bytes: a line whose hashes are all absent here cannot hit one (hits_digest compares lower
 * case); a present one may (or collide) and sends the line to the second pass, which asks the
 * matcher. Filled once per screen; `known` is 0 until then (every such line is deferred). */
typedef struct {
    uint64_t *keys; /* 0: an empty slot */
    size_t size;    /* a power of two, at least twice the values */
    int known;
} DigestSet;

static uint64_t lower_hash(const char *key, Py_ssize_t length) {
    char lower[128];
    if (length > (Py_ssize_t)sizeof(lower)) return key_hash(key, length); /* never a digest */
    for (Py_ssize_t i = 0; i < length; i++)
        lower[i] = (key[i] >= 'A' && key[i] <= 'Z') ? (char)(key[i] + 32) : key[i];
    return key_hash(lower, length);
}

static int digests_may_hit(const DigestSet *set, const char *key, Py_ssize_t length) {
    uint64_t h = lower_hash(key, length);
    for (size_t i = (size_t)h & (set->size - 1);; i = (i + 1) & (set->size - 1)) {
        if (set->keys[i] == 0) return 0;
        if (set->keys[i] == h) return 1;
    }
}

static inline int two_digits(const char *s, int *value) {
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return 0;
    *value = (s[0] - '0') * 10 + (s[1] - '0');
    return 1;
}

/* Whether a timestamp is Suricata's layout, 2024-01-02T03:04:05.123456+0100, with a real date
 * and time in years 2-9998 and an offset under 24 hours: a subset of what eve_types.
 * parse_timestamp accepts (tests/unit/monitoring/test_eve_screen_native.py holds it to that).
 * Anything else is left to parse_timestamp itself. */
static int suricata_time(const char *s, Py_ssize_t n) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y1, y2, month, day, hour, minute, second, zone_hour, zone_minute;
    if (n != 31 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != '.' || (s[26] != '+' && s[26] != '-'))
        return 0;
    for (int i = 20; i < 26; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    if (!two_digits(s, &y1) || !two_digits(s + 2, &y2) || !two_digits(s + 5, &month) ||
        !two_digits(s + 8, &day) || !two_digits(s + 11, &hour) || !two_digits(s + 14, &minute) ||
        !two_digits(s + 17, &second) || !two_digits(s + 27, &zone_hour) ||
        !two_digits(s + 29, &zone_minute))
        return 0;
    int year = y1 * 100 + y2;
    if (year < 2 || year > 9998 || month < 1 || month > 12 || day < 1 || hour > 23 ||
        minute > 59 || second > 59 || zone_hour > 23 || zone_minute > 59)
        return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= days[month - 1] + (month == 2 && leap);
}

#endif
