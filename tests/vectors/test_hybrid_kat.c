/*
 * Known answers for the hybrid and pure ML-KEM TLS groups, assembled from
 * component vectors in ../shared/vectors (no public hybrid vectors exist):
 *   ML-KEM: NIST ACVP encapDecap (ek, m -> c, K; seed-format d, z, c -> K)
 *   X25519: Wycheproof x25519_test.json (private, peer public -> shared)
 *   P-256 / P-384: Wycheproof ecdh_secp{256,384}r1_ecpoint_test.json
 * The expected shares and secrets are concatenated here by the RFC 10024
 * rule written out independently of the library's group table, so a swapped
 * order or a wrong length cannot pass:
 *   X25519MLKEM768: client ek||x25519, server ct||x25519, secret K||ss
 *   SecP256r1MLKEM768, SecP384r1MLKEM1024: EC part first in all three.
 * The party's own EC public value (priv * G) is computed with libcrypto
 * directly, outside the code under test.
 *
 * Usage: test_hybrid_kat VECTORS_DIR   (the folder holding nist-acvp/ etc.)
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <stdio.h>
#include <string.h>

#include "pqtls/hybrid.h"
#include "vec_util.h"

typedef struct {
    uint8_t priv[48], peer[97], shared[48], own[97];
    size_t priv_len, peer_len, shared_len, own_len;
} ec_vec;

typedef struct {
    vec_buf ek, m, c, k;         /* encapsulation record */
    vec_buf d, z, dek, dc, dk_k; /* seed-format decapsulation record */
} kem_vec;

static int failures;

/* Left-pad or strip a big-endian integer to exactly n bytes. */
static int fix_scalar(const vec_buf *in, uint8_t *out, size_t n)
{
    size_t off = 0;
    while (in->len - off > n && in->p[off] == 0) {
        off++;
    }
    if (in->len - off > n) {
        return -1;
    }
    memset(out, 0, n);
    memcpy(out + n - (in->len - off), in->p + off, in->len - off);
    return 0;
}

static int own_public(pqt_ec_curve c, const uint8_t *priv, size_t priv_len, uint8_t *pub,
                      size_t *pub_len)
{
    if (c == PQT_EC_X25519) {
        EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, priv_len);
        *pub_len = 32;
        int ok = k && EVP_PKEY_get_raw_public_key(k, pub, pub_len) == 1;
        EVP_PKEY_free(k);
        return ok ? 0 : -1;
    }
    EC_GROUP *g =
        EC_GROUP_new_by_curve_name(c == PQT_EC_P256 ? NID_X9_62_prime256v1 : NID_secp384r1);
    EC_POINT *p = g ? EC_POINT_new(g) : NULL;
    BIGNUM *d = BN_bin2bn(priv, (int)priv_len, NULL);
    int ok = p && d && EC_POINT_mul(g, p, d, NULL, NULL, NULL) == 1;
    *pub_len = ok ? EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, pub, 97, NULL) : 0;
    BN_free(d);
    EC_POINT_free(p);
    EC_GROUP_free(g);
    return *pub_len ? 0 : -1;
}

/* First valid record with a non-zero shared secret and an uncompressed peer. */
static int load_ec(const char *dir, const char *file, pqt_ec_curve curve, size_t priv_n, ec_vec *v)
{
    char path[1024];
    if (vec_path(path, sizeof(path), dir, file) != 0) {
        return -1;
    }
    json_t *root = vec_json_load(path);
    if (root == NULL) {
        return -1;
    }
    int found = -1;
    json_t *groups = json_object_get(root, "testGroups"), *grp, *t;
    size_t i, j;
    json_array_foreach(groups, i, grp)
    {
        json_array_foreach(json_object_get(grp, "tests"), j, t)
        {
            const char *res = vec_json_str(t, "result");
            vec_buf pub = {0}, priv = {0}, sh = {0};
            if (found == 0 || res == NULL || strcmp(res, "valid") != 0 ||
                vec_json_hex(t, "public", &pub) || vec_json_hex(t, "private", &priv) ||
                vec_json_hex(t, "shared", &sh)) {
                vec_buf_free(&pub), vec_buf_free(&priv), vec_buf_free(&sh);
                continue;
            }
            size_t want_pub = curve == PQT_EC_X25519 ? 32 : priv_n * 2 + 1;
            if (pub.len == want_pub && (curve == PQT_EC_X25519 || pub.p[0] == 0x04) &&
                !vec_all_zero(sh.p, sh.len) && fix_scalar(&priv, v->priv, priv_n) == 0) {
                v->priv_len = priv_n;
                memcpy(v->peer, pub.p, pub.len);
                v->peer_len = pub.len;
                memcpy(v->shared, sh.p, sh.len);
                v->shared_len = sh.len;
                found = own_public(curve, v->priv, v->priv_len, v->own, &v->own_len);
                printf("  %s: tcId %lld\n", file, vec_json_int(t, "tcId"));
            }
            vec_buf_free(&pub), vec_buf_free(&priv), vec_buf_free(&sh);
        }
    }
    json_decref(root);
    if (found != 0) {
        printf("FAIL no usable record in %s\n", path);
    }
    return found;
}

static int load_kem(const char *acvp_dir, const char *param, kem_vec *v)
{
    char path[1024];
    if (vec_path(path, sizeof(path), acvp_dir,
                 "ML-KEM-encapDecap-FIPS203/internalProjection.json")) {
        return -1;
    }
    json_t *root = vec_json_load(path);
    if (root == NULL) {
        return -1;
    }
    int have_enc = 0, have_dec = 0;
    json_t *grp, *t;
    size_t i;
    json_array_foreach(json_object_get(root, "testGroups"), i, grp)
    {
        const char *ps = vec_json_str(grp, "parameterSet"), *fn = vec_json_str(grp, "function");
        const char *kf = vec_json_str(grp, "keyFormat");
        if (ps == NULL || fn == NULL || strcmp(ps, param) != 0) {
            continue;
        }
        t = json_array_get(json_object_get(grp, "tests"), 0);
        if (!have_enc && strcmp(fn, "encapsulation") == 0) {
            have_enc = !vec_json_hex(t, "ek", &v->ek) && !vec_json_hex(t, "m", &v->m) &&
                       !vec_json_hex(t, "c", &v->c) && !vec_json_hex(t, "k", &v->k);
        }
        if (!have_dec && strcmp(fn, "decapsulation") == 0 && kf && strcmp(kf, "seed") == 0) {
            json_t *x;
            size_t j;
            json_array_foreach(json_object_get(grp, "tests"), j, x)
            {
                const char *reason = vec_json_str(x, "reason");
                if (!have_dec && reason && strcmp(reason, "valid decapsulation") == 0) {
                    have_dec = !vec_json_hex(x, "d", &v->d) && !vec_json_hex(x, "z", &v->z) &&
                               !vec_json_hex(x, "ek", &v->dek) && !vec_json_hex(x, "c", &v->dc) &&
                               !vec_json_hex(x, "k", &v->dk_k);
                }
            }
        }
    }
    json_decref(root);
    if (!have_enc || !have_dec) {
        printf("FAIL %s: no %s encapsulation/seed-decapsulation record\n", path, param);
        return -1;
    }
    return 0;
}

/* out = a||b when ec_first is 0 (ML-KEM part a first), else b||a. */
static size_t place(uint8_t *out, int ec_first, const uint8_t *kem, size_t kem_len,
                    const uint8_t *ec, size_t ec_len)
{
    if (ec_len == 0) { /* pure ML-KEM group */
        memcpy(out, kem, kem_len);
    } else if (ec_first) {
        memcpy(out, ec, ec_len);
        memcpy(out + ec_len, kem, kem_len);
    } else {
        memcpy(out, kem, kem_len);
        memcpy(out + kem_len, ec, ec_len);
    }
    return kem_len + ec_len;
}

static void check(int ok, const char *group, const char *what)
{
    printf("  %-4s %-20s %s\n", ok ? "ok" : "FAIL", group, what);
    failures += !ok;
}

/* ec == NULL for the pure ML-KEM groups. */
static void run_group(uint16_t code, const char *name, int ec_first, const kem_vec *kv,
                      const ec_vec *ev)
{
    uint8_t want[2000], got[2000], secret[80], seed[64];
    size_t wl, gl, sl, el = 0;
    const uint8_t *ecp = ev ? ev->peer : NULL, *eco = ev ? ev->own : NULL;
    size_t ecn = ev ? ev->peer_len : 0;

    /* Server: client share from the vectors, m and the EC private fixed. */
    size_t cl = place(want, ec_first, kv->ek.p, kv->ek.len, ecp, ecn);
    int r = pqt_hybrid_server_respond_derand(code, want, cl, kv->m.p, ev ? ev->priv : NULL,
                                             ev ? ev->priv_len : 0, got, sizeof(got), &gl, secret,
                                             sizeof(secret), &sl);
    uint8_t want_ss[2000], want_k[80];
    wl = place(want_ss, ec_first, kv->c.p, kv->c.len, eco, ev ? ev->own_len : 0);
    check(r == 0 && vec_eq(got, gl, want_ss, wl), name,
          "server share = ct, EC public in RFC order");
    el = place(want_k, ec_first, kv->k.p, kv->k.len, ev ? ev->shared : NULL,
               ev ? ev->shared_len : 0);
    check(r == 0 && vec_eq(secret, sl, want_k, el), name, "server secret = K, ECDH in RFC order");

    /* Client: ML-KEM key from d||z, EC private fixed; server share from vectors. */
    pqt_hybrid_client *c = NULL;
    memcpy(seed, kv->d.p, 32);
    memcpy(seed + 32, kv->z.p, 32);
    r = pqt_hybrid_client_new_derand(code, seed, ev ? ev->priv : NULL, ev ? ev->priv_len : 0, &c,
                                     got, sizeof(got), &gl);
    wl = place(want, ec_first, kv->dek.p, kv->dek.len, eco, ev ? ev->own_len : 0);
    check(r == 0 && vec_eq(got, gl, want, wl), name, "client share = ek, EC public in RFC order");
    if (r == 0) {
        wl = place(want, ec_first, kv->dc.p, kv->dc.len, ecp, ecn);
        r = pqt_hybrid_client_finish(c, want, wl, secret, sizeof(secret), &sl);
        el = place(want_k, ec_first, kv->dk_k.p, kv->dk_k.len, ev ? ev->shared : NULL,
                   ev ? ev->shared_len : 0);
        check(r == 0 && vec_eq(secret, sl, want_k, el), name, "client secret from server share");
    }
    pqt_hybrid_client_free(c);
}

static void free_kem(kem_vec *v)
{
    vec_buf *all[] = {&v->ek, &v->m, &v->c, &v->k, &v->d, &v->z, &v->dek, &v->dc, &v->dk_k};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        vec_buf_free(all[i]);
    }
}

int main(int argc, char **argv)
{
    char acvp[1024], wyche[1024];
    if (argc != 2 || vec_path(acvp, sizeof(acvp), argv[1], "nist-acvp") ||
        vec_path(wyche, sizeof(wyche), argv[1], "wycheproof/testvectors_v1") || !vec_is_dir(acvp) ||
        !vec_is_dir(wyche)) {
        printf(
            "FAIL usage: test_hybrid_kat VECTORS_DIR (with nist-acvp/ and wycheproof/); got %s\n",
            argc > 1 ? argv[1] : "(nothing)");
        return 1;
    }
    kem_vec k512 = {0}, k768 = {0}, k1024 = {0};
    ec_vec x25519, p256, p384;
    if (load_kem(acvp, "ML-KEM-512", &k512) || load_kem(acvp, "ML-KEM-768", &k768) ||
        load_kem(acvp, "ML-KEM-1024", &k1024) ||
        load_ec(wyche, "x25519_test.json", PQT_EC_X25519, 32, &x25519) ||
        load_ec(wyche, "ecdh_secp256r1_ecpoint_test.json", PQT_EC_P256, 32, &p256) ||
        load_ec(wyche, "ecdh_secp384r1_ecpoint_test.json", PQT_EC_P384, 48, &p384)) {
        return 1;
    }
    pqt_backend list[2];
    unsigned nb = vec_backends(list);
    for (unsigned b = 0; b < nb; b++) {
        if (vec_use_backend(list[b]) != 0) {
            return 1;
        }
        printf("backend %s\n", pqt_backend_name(list[b]));
        run_group(PQT_GROUP_X25519MLKEM768, "X25519MLKEM768", 0, &k768, &x25519);
        run_group(PQT_GROUP_SECP256R1MLKEM768, "SecP256r1MLKEM768", 1, &k768, &p256);
        run_group(PQT_GROUP_SECP384R1MLKEM1024, "SecP384r1MLKEM1024", 1, &k1024, &p384);
        run_group(PQT_GROUP_MLKEM512, "MLKEM512", 0, &k512, NULL);
        run_group(PQT_GROUP_MLKEM768, "MLKEM768", 0, &k768, NULL);
        run_group(PQT_GROUP_MLKEM1024, "MLKEM1024", 0, &k1024, NULL);
    }
    free_kem(&k512), free_kem(&k768), free_kem(&k1024);
    printf("hybrid KATs: %s (%d failed)\n", failures ? "FAILED" : "all passed", failures);
    return failures != 0;
}
