/*
 * The header's safety contract, checked from C: NULL pointers and invalid
 * UTF-8 give status codes (never a crash), failed calls set their handle
 * outputs to NULL and leave a message, successful calls clear it, a policy
 * changes the counts, and results outlive their context. Run under
 * valgrind by run-all.sh.
 *
 * usage: contract RULES_ARTIFACT BROKEN_BUNDLE
 * (BROKEN_BUNDLE must report CARDINALITY_MIN, e.g. missing-type.json)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shinny.h"

static int failures = 0;

#define CHECK(cond)                                                  \
    do {                                                             \
        if (!(cond)) {                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                              \
        }                                                            \
    } while (0)

static int last_error_contains(const char *text) {
    const char *e = shinny_last_error();
    return e && strstr(e, text);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s RULES_ARTIFACT BROKEN_BUNDLE\n", argv[0]);
        return 2;
    }
    ShinnyContext *ctx = (ShinnyContext *)&failures; /* must be reset to NULL */
    CHECK(shinny_context_from_artifact_file(NULL, &ctx) == SHINNY_STATUS_NULL_POINTER);
    CHECK(ctx == NULL);
    CHECK(last_error_contains("path"));
    CHECK(shinny_context_from_artifact_file(argv[1], NULL) == SHINNY_STATUS_NULL_POINTER);
    CHECK(shinny_context_from_artifact_file("a\xff", &ctx) == SHINNY_STATUS_INVALID_UTF8);
    CHECK(shinny_context_from_artifact_file("/nonexistent.rules", &ctx) == SHINNY_STATUS_IO);
    CHECK(shinny_context_from_artifact((const uint8_t *)"junk", 4, &ctx) == SHINNY_STATUS_ARTIFACT);
    CHECK(last_error_contains("magic"));
    CHECK(shinny_context_from_packages(NULL, "no.such.ig\xfe", &ctx) == SHINNY_STATUS_INVALID_UTF8);

    CHECK(shinny_context_from_artifact_file(argv[1], &ctx) == SHINNY_STATUS_OK);
    CHECK(shinny_last_error() == NULL);
    if (!ctx) return 1;

    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 2; }
    static unsigned char input[1 << 22];
    size_t len = fread(input, 1, sizeof input, f);
    fclose(f);

    ShinnyResult *r = (ShinnyResult *)&failures;
    CHECK(shinny_validate(NULL, input, len, NULL, NULL, &r) == SHINNY_STATUS_NULL_POINTER);
    CHECK(r == NULL);
    CHECK(shinny_validate(ctx, NULL, len, NULL, NULL, &r) == SHINNY_STATUS_NULL_POINTER);
    CHECK(shinny_validate(ctx, input, len, "\xc3", NULL, &r) == SHINNY_STATUS_INVALID_UTF8);
    CHECK(shinny_validate(ctx, input, len, "", NULL, &r) == SHINNY_STATUS_INVALID_ARGUMENT);
    size_t n = 0;
    ShinnySeverity sev;
    const char *json = NULL;
    CHECK(shinny_result_error_count(NULL, &n) == SHINNY_STATUS_NULL_POINTER);
    CHECK(shinny_result_max_severity(NULL, &sev) == SHINNY_STATUS_NULL_POINTER);
    CHECK(shinny_result_outcome_json(NULL, &json, NULL) == SHINNY_STATUS_NULL_POINTER);

    /* Not JSON: a fatal issue, not a call failure. */
    CHECK(shinny_validate(ctx, (const uint8_t *)"{", 1, NULL, NULL, &r) == SHINNY_STATUS_OK);
    CHECK(shinny_result_max_severity(r, &sev) == SHINNY_STATUS_OK && sev == SHINNY_SEVERITY_FATAL);
    shinny_result_free(r);

    /* Policies: a bad one is rejected with a position, a good one applies. */
    ShinnyPolicy *policy = (ShinnyPolicy *)&failures;
    const char *bad = "{\"formatVersion\": 2}";
    CHECK(shinny_policy_from_json((const uint8_t *)bad, strlen(bad), &policy) == SHINNY_STATUS_POLICY);
    CHECK(policy == NULL);
    CHECK(last_error_contains("line 1"));
    const char *good =
        "{\"formatVersion\": 1, \"name\": \"t\", \"version\": \"1\", \"rules\": [{\"id\": \"d\","
        " \"match\": {\"messageId\": \"CARDINALITY_MIN\"}, \"action\": {\"drop\": true}}]}";
    CHECK(shinny_policy_from_json((const uint8_t *)good, strlen(good), &policy) == SHINNY_STATUS_OK);

    size_t plain = 0, filtered = 0;
    CHECK(shinny_validate(ctx, input, len, NULL, NULL, &r) == SHINNY_STATUS_OK);
    CHECK(shinny_result_error_count(r, &plain) == SHINNY_STATUS_OK);
    CHECK(shinny_result_outcome_json(r, &json, NULL) == SHINNY_STATUS_OK);
    CHECK(strstr(json, "\"valueString\":\"CARDINALITY_MIN\"") != NULL);
    shinny_result_free(r);

    CHECK(shinny_validate(ctx, input, len, NULL, policy, &r) == SHINNY_STATUS_OK);
    shinny_policy_free(policy); /* results do not borrow the policy ... */
    shinny_context_free(ctx);   /* ... nor the context */
    CHECK(shinny_result_error_count(r, &filtered) == SHINNY_STATUS_OK);
    CHECK(shinny_result_outcome_json(r, &json, &n) == SHINNY_STATUS_OK);
    CHECK(strstr(json, "CARDINALITY_MIN") == NULL);
    CHECK(strstr(json, "validation-policy") != NULL);
    CHECK(n == strlen(json));
    CHECK(plain > 0 && filtered < plain);
    shinny_result_free(r);

    shinny_context_free(NULL);
    shinny_policy_free(NULL);
    shinny_result_free(NULL);

    printf("contract: %d failure(s)\n", failures);
    return failures == 0 ? 0 : 1;
}
