// koffi binding for libshinny. The library is found at $SHINNY_LIB, else
// ../../target/release/libshinny.so relative to this file.
'use strict';

const koffi = require('koffi');
const path = require('path');

const lib = koffi.load(process.env.SHINNY_LIB ||
  path.join(__dirname, '..', '..', 'target', 'release', 'libshinny.so'));

const ABI_VERSION = 1;
const SEVERITIES = ['none', 'information', 'warning', 'error', 'fatal'];

// Opaque handles.
koffi.opaque('ShinnyContext');
koffi.opaque('ShinnyPolicy');
koffi.opaque('ShinnyResult');

const abiVersion = lib.func('uint32_t shinny_abi_version(void)');
const versionFn = lib.func('const char *shinny_version(void)');
const lastError = lib.func('const char *shinny_last_error(void)');
const contextFromArtifactFile = lib.func(
  'int shinny_context_from_artifact_file(const char *path, _Out_ ShinnyContext **out)');
const contextFromPackages = lib.func(
  'int shinny_context_from_packages(const char *dir, const char *ig, _Out_ ShinnyContext **out)');
const contextFree = lib.func('void shinny_context_free(ShinnyContext *ctx)');
const policyFromJson = lib.func(
  'int shinny_policy_from_json(const uint8_t *json, size_t len, _Out_ ShinnyPolicy **out)');
const policyFree = lib.func('void shinny_policy_free(ShinnyPolicy *p)');
const validateFn = lib.func(
  'int shinny_validate(const ShinnyContext *ctx, const uint8_t *input, size_t len, ' +
  'const char *profile, const ShinnyPolicy *policy, _Out_ ShinnyResult **out)');
// The JSON pointer is read as a raw pointer and decoded with its length,
// since it is owned by the result.
const resultJson = lib.func(
  'int shinny_result_outcome_json(const ShinnyResult *r, _Out_ void **json, _Out_ size_t *len)');
const resultErrorCount = lib.func(
  'int shinny_result_error_count(const ShinnyResult *r, _Out_ size_t *out)');
const resultMaxSeverity = lib.func(
  'int shinny_result_max_severity(const ShinnyResult *r, _Out_ int *out)');
const resultFree = lib.func('void shinny_result_free(ShinnyResult *r)');

if (abiVersion() !== ABI_VERSION) {
  throw new Error(`libshinny ABI ${abiVersion()}, binding expects ${ABI_VERSION}`);
}

class ShinnyError extends Error {
  constructor(status) {
    super(`status ${status}: ${lastError() || '?'}`);
    this.status = status;
  }
}

function check(status) {
  if (status !== 0) throw new ShinnyError(status);
}

/** A compiled validation context; immutable, share one per process. */
class Context {
  constructor(handle) { this.handle = handle; }

  static fromArtifactFile(file) {
    const out = [null];
    check(contextFromArtifactFile(file, out));
    return new Context(out[0]);
  }

  static fromPackages(packageDir = null, ig = null) {
    const out = [null];
    check(contextFromPackages(packageDir, ig, out));
    return new Context(out[0]);
  }

  /** Validates a Buffer of JSON; returns {outcome, errorCount, maxSeverity}. */
  validate(data, { profile = null, policy = null } = {}) {
    const out = [null];
    check(validateFn(this.handle, data, data.length, profile, policy ? policy.handle : null, out));
    const r = out[0];
    try {
      const ptr = [null];
      const len = [0];
      check(resultJson(r, ptr, len));
      const text = koffi.decode(ptr[0], 'char', Number(len[0]));
      const errors = [0];
      check(resultErrorCount(r, errors));
      const sev = [0];
      check(resultMaxSeverity(r, sev));
      return {
        outcome: JSON.parse(text),
        errorCount: Number(errors[0]),
        maxSeverity: SEVERITIES[sev[0]],
      };
    } finally {
      resultFree(r);
    }
  }

  close() {
    if (this.handle) contextFree(this.handle);
    this.handle = null;
  }
}

/** A diagnostics policy from its JSON text. */
class Policy {
  constructor(text) {
    const data = Buffer.from(text, 'utf8');
    const out = [null];
    check(policyFromJson(data, data.length, out));
    this.handle = out[0];
  }

  close() {
    if (this.handle) policyFree(this.handle);
    this.handle = null;
  }
}

/** Message ids of an OperationOutcome's issues. */
function messageIds(outcome) {
  return (outcome.issue || []).flatMap((i) => (i.extension || [])
    .filter((e) => e.url.endsWith('/operationoutcome-message-id'))
    .map((e) => e.valueString));
}

module.exports = { Context, Policy, ShinnyError, messageIds, version: versionFn() };
