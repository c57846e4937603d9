/*
 * Validates files from 8 threads at once with one shared context and one
 * shared policy-free configuration, and checks that every thread gets
 * exactly the single-threaded result (error count and outcome JSON).
 *
 * usage: threads RULES_ARTIFACT FILE...
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shinny.h"

#define THREADS 8
#define ROUNDS 5

typedef struct {
    unsigned char *bytes;
    size_t len;
    size_t errors;   /* single-threaded baseline */
    char *json;      /* single-threaded baseline */
} Doc;

static ShinnyContext *ctx;
static Doc *docs;
static int ndocs;

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Validates doc i; returns 0 and fills errors/json (malloc'd) on success. */
static int validate(int i, size_t *errors, char **json) {
    ShinnyResult *r = NULL;
    const char *text = NULL;
    size_t len = 0;
    if (shinny_validate(ctx, docs[i].bytes, docs[i].len, NULL, NULL, &r) != SHINNY_STATUS_OK ||
        shinny_result_error_count(r, errors) != SHINNY_STATUS_OK ||
        shinny_result_outcome_json(r, &text, &len) != SHINNY_STATUS_OK) {
        const char *e = shinny_last_error();
        fprintf(stderr, "validation call failed: %s\n", e ? e : "?");
        shinny_result_free(r);
        return -1;
    }
    *json = malloc(len + 1);
    memcpy(*json, text, len + 1);
    shinny_result_free(r);
    return 0;
}

static void *worker(void *arg) {
    long id = (long)arg;
    long mismatches = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int k = 0; k < ndocs; k++) {
            int i = (int)((k + id) % ndocs); /* threads start on different files */
            size_t errors;
            char *json;
            if (validate(i, &errors, &json) != 0) { mismatches++; continue; }
            if (errors != docs[i].errors || strcmp(json, docs[i].json) != 0) mismatches++;
            free(json);
        }
    }
    return (void *)mismatches;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s RULES_ARTIFACT FILE...\n", argv[0]);
        return 2;
    }
    if (shinny_context_from_artifact_file(argv[1], &ctx) != SHINNY_STATUS_OK) {
        fprintf(stderr, "loading %s: %s\n", argv[1], shinny_last_error());
        return 2;
    }
    ndocs = argc - 2;
    docs = calloc((size_t)ndocs, sizeof(Doc));
    size_t total_errors = 0;
    for (int i = 0; i < ndocs; i++) {
        docs[i].bytes = read_file(argv[i + 2], &docs[i].len);
        if (!docs[i].bytes) { perror(argv[i + 2]); return 2; }
        if (validate(i, &docs[i].errors, &docs[i].json) != 0) return 2;
        total_errors += docs[i].errors;
    }
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    long mismatches = 0;
    for (int i = 0; i < THREADS; i++) {
        void *m;
        pthread_join(t[i], &m);
        mismatches += (long)m;
    }
    printf("%d threads x %d rounds x %d files: %ld mismatch(es); %zu error(s) per round\n",
           THREADS, ROUNDS, ndocs, mismatches, total_errors);
    for (int i = 0; i < ndocs; i++) { free(docs[i].bytes); free(docs[i].json); }
    free(docs);
    shinny_context_free(ctx);
    return mismatches == 0 ? 0 : 1;
}
