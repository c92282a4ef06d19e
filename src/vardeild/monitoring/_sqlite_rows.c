/* Rows into SQLite from C, on the connection of Python's sqlite3 module, with the GIL released
 * while SQLite binds and steps.
 *
 * Why: storing the Shadowserver lane's rows, the writer thread is the pipeline's critical path
 * (docs/benchmarks.md, "Where the time goes"). Through sqlite3's cursor.execute every one of a
 * row's 21 values is bound with the GIL held (and copied: SQLITE_TRANSIENT), so the reading
 * thread waits for it, and it waits for the reading thread. Here one pass under the GIL notes
 * where each value is (a str's UTF-8 buffer, an int), and SQLite then binds them in place
 * (SQLITE_STATIC) and steps a prepared one-row statement per row with the GIL released; in
 * chunks of CHUNK rows, each row held as a tuple of its own meanwhile.
 *
 * It uses the connection's sqlite3 handle, which the sqlite3 module does not expose: CPython
 * keeps it as the first field after the object header (pysqlite_Connection.db, 3.11 to 3.14).
 * Two checks guard that (monitoring/sqlite_rows.py): the sqlite3 module must call the same
 * SQLite library as this module (`same_library`: dlsym through the module's own handle finds
 * our sqlite3_step), and the handle must name the same database file as the connection says
 * (`filename`). Anything else, and the caller inserts through the cursor as before.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

/* The head of CPython's pysqlite_Connection (Modules/_sqlite/connection.h). */
typedef struct {
    PyObject_HEAD
    sqlite3 *db;
} ConnectionHead;

typedef struct {
    int type; /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB */
    union {
        sqlite3_int64 integer;
        double real;
        struct { const char *bytes; Py_ssize_t n; } text;
    } as;
} Value;

/* Rows are taken CHUNK at a time: their values noted under the GIL, then written without it.
 * It bounds the memory noted (CHUNK x width values) whatever the batch's size. */
#define CHUNK 4096

static PyObject *sqlite_module = NULL;

static sqlite3 *handle_of(PyObject *connection) {
    PyObject *type = PyObject_GetAttrString(sqlite_module, "Connection");
    if (type == NULL) return NULL;
    int ok = PyObject_TypeCheck(connection, (PyTypeObject *)type);
    Py_DECREF(type);
    if (!ok) {
        PyErr_SetString(PyExc_TypeError, "not a sqlite3.Connection");
        return NULL;
    }
    sqlite3 *db = ((ConnectionHead *)connection)->db;
    if (db == NULL) PyErr_SetString(PyExc_ValueError, "the connection is closed");
    return db;
}

/* The sqlite3 module's exception for a result code, as the module itself maps them. */
static void raise_sqlite(int code, const char *message) {
    const char *name;
    switch (code & 0xff) {
    case SQLITE_INTERNAL: case SQLITE_NOTFOUND: name = "InternalError"; break;
    case SQLITE_NOMEM: PyErr_NoMemory(); return;
    case SQLITE_CORRUPT: name = "DatabaseError"; break;
    case SQLITE_TOOBIG: name = "DataError"; break;
    case SQLITE_CONSTRAINT: case SQLITE_MISMATCH: name = "IntegrityError"; break;
    case SQLITE_MISUSE: case SQLITE_RANGE: name = "InterfaceError"; break;
    case SQLITE_ERROR: case SQLITE_PERM: case SQLITE_ABORT: case SQLITE_BUSY:
    case SQLITE_LOCKED: case SQLITE_READONLY: case SQLITE_INTERRUPT: case SQLITE_IOERR:
    case SQLITE_FULL: case SQLITE_CANTOPEN: case SQLITE_PROTOCOL: case SQLITE_EMPTY:
    case SQLITE_SCHEMA: name = "OperationalError"; break;
    default: name = "DatabaseError";
    }
    PyObject *kind = PyObject_GetAttrString(sqlite_module, name);
    if (kind == NULL) return;
    PyErr_SetString(kind, message);
    Py_DECREF(kind);
}

PyDoc_STRVAR(same_library_doc,
"same_library(path, /) -> bool\n\n"
"Whether the extension module at path (the sqlite3 module's _sqlite3) calls the SQLite library\n"
"this module calls: dlsym through its handle finds this module's sqlite3_step.");

static PyObject *same_library(PyObject *self, PyObject *path) {
    const char *name = PyUnicode_AsUTF8(path);
    if (name == NULL) return NULL;
    void *module = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (module == NULL) Py_RETURN_FALSE;
    void *theirs = dlsym(module, "sqlite3_step");
    dlclose(module);
    return PyBool_FromLong(theirs != NULL && theirs == (void *)sqlite3_step);
}

PyDoc_STRVAR(filename_doc,
"filename(connection, /) -> str\n\n"
"The file of the connection's main database, as its SQLite handle names it ('' in memory).");

static PyObject *filename(PyObject *self, PyObject *connection) {
    sqlite3 *db = handle_of(connection);
    if (db == NULL) return NULL;
    const char *name = sqlite3_db_filename(db, "main");
    return PyUnicode_FromString(name == NULL ? "" : name);
}

/* Note where each value of rows[first:first+count] is, each row held as a tuple of its own in
 * held[] (so that its values live while the GIL is released, whatever happens to the caller's
 * lists meanwhile); 0, or -1 with an exception set. */
static int gather(PyObject *rows, Py_ssize_t first, Py_ssize_t count, Py_ssize_t width,
                  PyObject **held, Value *values) {
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t r = first + i;
        PyObject *row = PySequence_Tuple(PyList_GET_ITEM(rows, r));
        if (row == NULL) return -1;
        held[i] = row;
        if (PyTuple_GET_SIZE(row) != width) {
            PyErr_Format(PyExc_ValueError, "row %zd has %zd values, not %zd", r,
                         PyTuple_GET_SIZE(row), width);
            return -1;
        }
        for (Py_ssize_t c = 0; c < width; c++) {
            PyObject *item = PyTuple_GET_ITEM(row, c);
            Value *value = &values[i * width + c];
            if (item == Py_None) {
                value->type = SQLITE_NULL;
            } else if (PyUnicode_CheckExact(item)) {
                value->type = SQLITE_TEXT;
                /* Cached in the str, which the tuple keeps alive: valid without the GIL. */
                value->as.text.bytes = PyUnicode_AsUTF8AndSize(item, &value->as.text.n);
                if (value->as.text.bytes == NULL) return -1;
            } else if (PyLong_CheckExact(item)) {
                value->type = SQLITE_INTEGER;
                value->as.integer = PyLong_AsLongLong(item);
                if (value->as.integer == -1 && PyErr_Occurred()) return -1;
            } else if (PyFloat_CheckExact(item)) {
                value->type = SQLITE_FLOAT;
                value->as.real = PyFloat_AS_DOUBLE(item);
            } else if (PyBytes_CheckExact(item)) {
                value->type = SQLITE_BLOB;
                value->as.text.bytes = PyBytes_AS_STRING(item);
                value->as.text.n = PyBytes_GET_SIZE(item);
            } else {
                PyErr_Format(PyExc_TypeError, "row %zd, value %zd: cannot store a %.100s", r, c,
                             Py_TYPE(item)->tp_name);
                return -1;
            }
        }
    }
    return 0;
}

static int bind(sqlite3_stmt *statement, const Value *value, int at) {
    switch (value->type) {
    case SQLITE_NULL: return sqlite3_bind_null(statement, at);
    case SQLITE_INTEGER: return sqlite3_bind_int64(statement, at, value->as.integer);
    case SQLITE_FLOAT: return sqlite3_bind_double(statement, at, value->as.real);
    case SQLITE_TEXT: return sqlite3_bind_text64(statement, at, value->as.text.bytes,
                                                 (sqlite3_uint64)value->as.text.n, SQLITE_STATIC,
                                                 SQLITE_UTF8);
    default: return sqlite3_bind_blob64(statement, at, value->as.text.bytes,
                                        (sqlite3_uint64)value->as.text.n, SQLITE_STATIC);
    }
}

PyDoc_STRVAR(insert_doc,
"insert(connection, sql, rows, /) -> int\n\n"
"Run sql, one statement with a parameter per value of a row, once for each row of rows (a list\n"
"of lists or tuples of None, int, float, str or bytes), on the connection's SQLite handle with\n"
"the GIL released; return the rows it changed (sqlite3_changes). The caller holds the\n"
"connection in a transaction and uses it from no other thread meanwhile. An error raises the\n"
"sqlite3 module's exception for it, naming the row.");

static PyObject *insert(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyUnicode_Check(args[1]) || !PyList_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "insert(connection, sql: str, rows: list)");
        return NULL;
    }
    sqlite3 *db = handle_of(args[0]);
    if (db == NULL) return NULL;
    PyObject *rows = args[2];
    Py_ssize_t n = PyList_GET_SIZE(rows);
    if (n == 0) return PyLong_FromLong(0);
    Py_ssize_t sql_n;
    const char *sql = PyUnicode_AsUTF8AndSize(args[1], &sql_n);
    if (sql == NULL) return NULL;
    sqlite3_stmt *statement = NULL;
    int code = sqlite3_prepare_v2(db, sql, (int)sql_n, &statement, NULL);
    if (code != SQLITE_OK || statement == NULL) {
        raise_sqlite(code == SQLITE_OK ? SQLITE_MISUSE : code, sqlite3_errmsg(db));
        sqlite3_finalize(statement);
        return NULL;
    }
    Py_ssize_t width = sqlite3_bind_parameter_count(statement);
    Value *values = PyMem_RawMalloc(sizeof(Value) * (size_t)(CHUNK * (width ? width : 1)));
    PyObject **held = PyMem_RawCalloc(CHUNK, sizeof(PyObject *));
    if (values == NULL || held == NULL) {
        PyMem_RawFree(values);
        PyMem_RawFree(held);
        sqlite3_finalize(statement);
        return PyErr_NoMemory();
    }
    sqlite3_int64 changed = 0;
    Py_ssize_t failed_row = -1;
    int gathered = 0;
    char message[512] = "";
    for (Py_ssize_t first = 0; first < n && failed_row < 0; first += CHUNK) {
        /* The caller's list may be shorter by now only if it changed it meanwhile; take what
         * is there. */
        Py_ssize_t count = PyList_GET_SIZE(rows) - first;
        if (count > CHUNK) count = CHUNK;
        if (count <= 0) break;
        gathered = gather(rows, first, count, width, held, values);
        if (gathered == 0) {
            Py_BEGIN_ALLOW_THREADS
            for (Py_ssize_t i = 0; i < count; i++) {
                const Value *row = &values[i * width];
                for (Py_ssize_t c = 0; c < width; c++) {
                    code = bind(statement, &row[c], (int)c + 1);
                    if (code != SQLITE_OK) break;
                }
                if (code == SQLITE_OK) {
                    code = sqlite3_step(statement);
                    if (code == SQLITE_DONE) {
                        code = SQLITE_OK;
                        changed += sqlite3_changes(db);
                    }
                }
                if (code != SQLITE_OK) {
                    failed_row = first + i;
                    snprintf(message, sizeof message, "%s", sqlite3_errmsg(db));
                }
                sqlite3_reset(statement);
                if (failed_row >= 0) break;
            }
            Py_END_ALLOW_THREADS
        }
        for (Py_ssize_t i = 0; i < count; i++) Py_CLEAR(held[i]);
        if (gathered < 0) break;
    }
    sqlite3_finalize(statement);
    PyMem_RawFree(values);
    PyMem_RawFree(held);
    if (gathered < 0) return NULL;
    if (failed_row >= 0) {
        char named[640];
        snprintf(named, sizeof named, "row %zd of %zd: %s", failed_row, n, message);
        raise_sqlite(code, named);
        return NULL;
    }
    return PyLong_FromLongLong(changed);
}

static PyMethodDef methods[] = {
    {"same_library", same_library, METH_O, same_library_doc},
    {"filename", filename, METH_O, filename_doc},
    {"insert", (PyCFunction)(void (*)(void))insert, METH_FASTCALL, insert_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_sqlite_rows",
    "Rows into SQLite from C with the GIL released (see monitoring/sqlite_rows.py).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__sqlite_rows(void) {
    sqlite_module = PyImport_ImportModule("sqlite3");
    if (sqlite_module == NULL) return NULL;
    return PyModule_Create(&module_def);
}
