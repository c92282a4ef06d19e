/* BLAKE2b (RFC 7693), unkeyed, one message in memory, digest of 1-64 bytes.
 *
 * Why here and not hashlib: the Shadowserver lane (_report_lane.c) fingerprints every stored
 * row, and calling hashlib's blake2b from C costs two Python calls and three objects per row,
 * under the GIL. Written from the RFC's description; the lane's tests hold every fingerprint to
 * hashlib.blake2b(..., digest_size=16).
 */
#ifndef VARDEILD_BLAKE2B_H
#define VARDEILD_BLAKE2B_H

#include <stdint.h>
#include <string.h>

static const uint64_t blake2b_iv[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

static const uint8_t blake2b_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static inline uint64_t blake2b_rotr(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

static inline uint64_t blake2b_load(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i]; /* little-endian on any host */
    return v;
}

#define BLAKE2B_G(a, b, c, d, x, y)                 \
    do {                                            \
        v[a] = v[a] + v[b] + (x);                   \
        v[d] = blake2b_rotr(v[d] ^ v[a], 32);       \
        v[c] = v[c] + v[d];                         \
        v[b] = blake2b_rotr(v[b] ^ v[c], 24);       \
        v[a] = v[a] + v[b] + (y);                   \
        v[d] = blake2b_rotr(v[d] ^ v[a], 16);       \
        v[c] = v[c] + v[d];                         \
        v[b] = blake2b_rotr(v[b] ^ v[c], 63);       \
    } while (0)

/* Compress one 128-byte block into h; t is the byte count so far, last marks the final block. */
static void blake2b_compress(uint64_t h[8], const uint8_t block[128], uint64_t t, int last) {
    uint64_t v[16], m[16];
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = blake2b_iv[i];
    }
    v[12] ^= t; /* the counter's high word stays 0: messages here are far below 2^64 bytes */
    if (last) v[14] = ~v[14];
    for (int i = 0; i < 16; i++) m[i] = blake2b_load(block + 8 * i);
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = blake2b_sigma[r];
        BLAKE2B_G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        BLAKE2B_G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        BLAKE2B_G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        BLAKE2B_G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        BLAKE2B_G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        BLAKE2B_G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        BLAKE2B_G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        BLAKE2B_G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

/* The state of one hash over parts given in turn (the lane hashes a prefix, then the row). */
typedef struct {
    uint64_t h[8];
    uint8_t buffer[128];
    size_t filled;
    uint64_t total;
    int size;
} Blake2b;

static void blake2b_begin(Blake2b *s, int digest_size) {
    memcpy(s->h, blake2b_iv, sizeof s->h);
    s->h[0] ^= 0x01010000ULL ^ (uint64_t)digest_size; /* no key, fanout 1, depth 1 */
    s->filled = 0;
    s->total = 0;
    s->size = digest_size;
}

static void blake2b_add(Blake2b *s, const uint8_t *data, size_t n) {
    while (n > 0) {
        if (s->filled == 128) { /* a full block is compressed only once more data follows */
            s->total += 128;
            blake2b_compress(s->h, s->buffer, s->total, 0);
            s->filled = 0;
        }
        size_t take = 128 - s->filled < n ? 128 - s->filled : n;
        memcpy(s->buffer + s->filled, data, take);
        s->filled += take;
        data += take;
        n -= take;
    }
}

/* Write the digest as lower-case hex into out (2 * size characters). */
static void blake2b_hex(Blake2b *s, char *out) {
    static const char digits[] = "0123456789abcdef";
    s->total += s->filled;
    memset(s->buffer + s->filled, 0, 128 - s->filled);
    blake2b_compress(s->h, s->buffer, s->total, 1);
    for (int i = 0; i < s->size; i++) {
        uint8_t byte = (uint8_t)(s->h[i / 8] >> (8 * (i % 8)));
        out[2 * i] = digits[byte >> 4];
        out[2 * i + 1] = digits[byte & 15];
    }
}

#endif
