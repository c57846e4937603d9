/*
 * Validates one FHIR JSON file with libshinny and prints the
 * OperationOutcome.
 *
 * usage: validate RULES_ARTIFACT FILE [EXPECTED_MESSAGE_ID]
 *
 * Without EXPECTED_MESSAGE_ID the exit status is 0 when the file has no
 * error; with it, 0 when the file has an error and an issue carries that
 * message id. 2 on a call failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shinny.h"

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *bigger = realloc(buf, cap *= 2);
            if (!bigger) { free(buf); buf = NULL; }
            buf = bigger;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int fail(const char *what, ShinnyStatus st) {
    const char *msg = shinny_last_error();
    fprintf(stderr, "%s failed (status %d): %s\n", what, (int)st, msg ? msg : "(no message)");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s RULES_ARTIFACT FILE [EXPECTED_MESSAGE_ID]\n", argv[0]);
        return 2;
    }
    if (shinny_abi_version() != SHINNY_ABI_VERSION) {
        fprintf(stderr, "libshinny ABI %u, header %u\n", shinny_abi_version(), SHINNY_ABI_VERSION);
        return 2;
    }
    int rc = 2;
    ShinnyContext *ctx = NULL;
    ShinnyResult *result = NULL;
    size_t len = 0;
    unsigned char *input = read_file(argv[2], &len);
    if (!input) {
        perror(argv[2]);
        return 2;
    }
    ShinnyStatus st = shinny_context_from_artifact_file(argv[1], &ctx);
    if (st != SHINNY_STATUS_OK) { rc = fail("shinny_context_from_artifact_file", st); goto done; }
    st = shinny_validate(ctx, input, len, NULL, NULL, &result);
    if (st != SHINNY_STATUS_OK) { rc = fail("shinny_validate", st); goto done; }

    const char *json = NULL;
    size_t json_len = 0, errors = 0;
    ShinnySeverity max = SHINNY_SEVERITY_NONE;
    if ((st = shinny_result_outcome_json(result, &json, &json_len)) != SHINNY_STATUS_OK ||
        (st = shinny_result_error_count(result, &errors)) != SHINNY_STATUS_OK ||
        (st = shinny_result_max_severity(result, &max)) != SHINNY_STATUS_OK) {
        rc = fail("reading the result", st);
        goto done;
    }
    printf("%s\n", json);
    printf("libshinny %s: %zu error(s), max severity %d\n", shinny_version(), errors, (int)max);

    if (argc == 3) {
        rc = errors == 0 ? 0 : 1;
    } else {
        /* The message id is the value of the operationoutcome-message-id
         * extension; the JSON is compact, so this exact text appears. */
        char needle[256];
        snprintf(needle, sizeof needle, "\"valueString\":\"%s\"", argv[3]);
        int found = strstr(json, needle) != NULL;
        if (!found) fprintf(stderr, "expected message id %s not reported\n", argv[3]);
        rc = (errors > 0 && found) ? 0 : 1;
    }
done:
    shinny_result_free(result);
    shinny_context_free(ctx);
    free(input);
    return rc;
}
