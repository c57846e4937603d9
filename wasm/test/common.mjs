// Paths and fixtures shared by the Node and browser tests.

import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { repoRoot, exampleDir } from './serve.mjs';

export { repoRoot, exampleDir };
export const testExampleDir = exampleDir.replace('us.ny.hrsn#1.9.4/', 'us.ny.hrsn#1.9.4-test/');
export const rulesPath = join(repoRoot, 'target/shinny.rules');
export const testRulesPath = join(repoRoot, 'target/shinny-test.rules');
/** The native CLI: $SHINNY_CLI, else Cargo's release output ($CARGO_TARGET_DIR or target/). */
export const cliPath = process.env.SHINNY_CLI
  || join(resolve(repoRoot, process.env.CARGO_TARGET_DIR || 'target'), 'release/shinny');

/** The Node build of the package (run wasm/build.sh first). */
export function loadPackage() {
  const require = createRequire(import.meta.url);
  return require(join(repoRoot, 'wasm/pkg/node/shinny_wasm.js'));
}

/** The example Bundle file names of a folder, sorted. */
export function bundleNames(dir = exampleDir) {
  return readdirSync(dir).filter((f) => /^Bundle-.*\.json$/.test(f)).sort();
}

export function readExample(name, dir = exampleDir) {
  return readFileSync(join(dir, name), 'utf8');
}

export const ID_URL = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id';
export const LINE_URL = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line';
export const COL_URL = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col';

/** An OperationOutcome issue flattened to { severity, id, line, col, expression, text }. */
export function flat(issue) {
  const ext = (url) => (issue.extension || []).find((e) => e.url === url);
  return {
    severity: issue.severity,
    id: ext(ID_URL)?.valueString,
    line: ext(LINE_URL)?.valueInteger,
    col: ext(COL_URL)?.valueInteger,
    expression: (issue.expression || [])[0],
    text: issue.details?.text,
  };
}

export const errorsOf = (outcome) =>
  outcome.issue.map(flat).filter((i) => i.severity === 'error' || i.severity === 'fatal');

/** The resource of a Bundle entry by type and id. */
export function resource(bundle, type, id) {
  const e = bundle.entry.find((x) => x.resource.resourceType === type && x.resource.id === id);
  if (!e) throw new Error(`no ${type}/${id} in the bundle`);
  return e.resource;
}

/** Broken variants of a valid SHIN-NY bundle: name -> { text, expect }. */
export function brokenVariants() {
  const base = JSON.parse(readExample('Bundle-AHCHRSNScreeningResponseExample.json'));
  const copy = () => structuredClone(base);
  const pretty = (b) => JSON.stringify(b, null, 2);
  const variants = {};

  const noType = copy();
  delete noType.type;
  variants['missing Bundle.type'] = { text: pretty(noType), id: 'CARDINALITY_MIN', expression: 'Bundle.type' };

  const unknown = copy();
  unknown.entry[0].resource.favouriteColour = 'blue';
  variants['unknown element'] = {
    text: pretty(unknown),
    id: 'ELEMENT_UNKNOWN',
    expression: `Bundle.entry[0].resource.ofType(${unknown.entry[0].resource.resourceType}).favouriteColour`,
    // "favouriteColour" is the last member of the first resource.
    find: '"favouriteColour"',
  };

  const medicaid = copy();
  resource(medicaid, 'Patient', 'PatientExample').identifier[1].value = 'A112345C';
  variants['bad Medicaid id (SHIN-NY invariant)'] = { text: pretty(medicaid), id: 'SHINNY-Patient-MA' };

  const badDate = copy();
  resource(badDate, 'Patient', 'PatientExample').birthDate = '1990-13-45';
  variants['invalid birthDate'] = {
    text: pretty(badDate),
    expression: 'Bundle.entry[' + badDate.entry.findIndex((e) => e.resource.resourceType === 'Patient')
      + '].resource.ofType(Patient).birthDate',
    find: '"1990-13-45"',
  };

  const text = pretty(base);
  const cut = text.indexOf('"entry"');
  variants['truncated JSON'] = { text: text.slice(0, cut + 20), id: 'JSON_SYNTAX', fatal: true };
  return variants;
}

/** 1-based line and column of the first occurrence of `needle`. */
export function lineColOf(text, needle) {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`${needle} not found`);
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  return { line, col: at - before.lastIndexOf('\n') };
}
