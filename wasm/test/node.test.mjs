// The npm package's Node build (wasm/pkg/node) over the SHIN-NY examples
// and broken variants, compared with the native CLI. Run wasm/build.sh
// first; `node --test` from this folder.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, mkdirSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  loadPackage, bundleNames, readExample, rulesPath, testRulesPath, cliPath, repoRoot,
  exampleDir, testExampleDir, flat, errorsOf, brokenVariants, lineColOf,
} from './common.mjs';

const { Validator, version, lastPanic } = loadPackage();
const rules = readFileSync(rulesPath);
const validator = Validator.fromArtifact(rules);

/** The native CLI's OperationOutcome for a file, with the same artifact. */
function native(file) {
  const r = spawnSync(cliPath, ['validate', '--rules', rulesPath, '--format', 'json', file], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  assert.ok(r.status === 0 || r.status === 1, `CLI failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('package', () => {
  test('version() is the workspace version', () => {
    const cargo = readFileSync(join(repoRoot, 'Cargo.toml'), 'utf8');
    assert.equal(version(), /^version = "([^"]+)"/m.exec(cargo)[1]);
  });

  test('a bad artifact throws an Error with a clear message', () => {
    assert.throws(() => Validator.fromArtifact(new Uint8Array([1, 2, 3])), {
      name: 'Error',
      message: /not a shinny rules artifact/,
    });
    const truncated = rules.subarray(0, rules.length >> 1);
    assert.throws(() => Validator.fromArtifact(truncated), { message: /corrupt/ });
    const wrongVersion = Buffer.from(rules.subarray(0, 64));
    wrongVersion.writeUInt32LE(9999, 8);
    assert.throws(() => Validator.fromArtifact(wrongVersion), { message: /format 9999/ });
    assert.throws(() => Validator.fromArtifacts([rules, 'x']), { message: /item 2 is not a Uint8Array/ });
    assert.throws(() => Validator.fromArtifacts([]), { message: /no rules artifact/ });
  });

  test('bad inputs and options throw; the validator stays usable', () => {
    assert.throws(() => validator.validate(42), { message: /expected a JSON string, a Uint8Array or an object/ });
    assert.throws(() => validator.validate(undefined), { message: /expected a JSON string/ });
    assert.throws(() => validator.validate('{}', { profile: '' }), { message: /profile: empty string/ });
    assert.throws(() => validator.validate('{}', { profile: 7 }), { message: /options.profile: expected a string/ });
    assert.throws(() => validator.validate('{}', { policy: '{"formatVersion": 1,' }), { message: /invalid policy/ });
    assert.throws(() => validator.validate('{}', { policy: { formatVersion: 99 } }), { message: /invalid policy/ });
    const cyclic = {};
    cyclic.self = cyclic;
    assert.throws(() => validator.validate(cyclic), { message: /cannot be serialized to JSON/ });
    assert.equal(lastPanic(), undefined);
    assert.equal(errorsOf(validator.validate(readExample('Bundle-TaskExample.json'))).length, 0);
  });
});

describe('npm package', () => {
  const pkg = join(repoRoot, 'wasm/pkg');

  test('resolves by name: require() and import get the Node build, ./web the ES module', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shinny-wasm-pkg-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(pkg, join(dir, 'node_modules/shinny-wasm'), 'dir');
      writeFileSync(join(dir, 'cjs.cjs'), `const s = require('shinny-wasm');
console.log(JSON.stringify([typeof s.Validator.fromArtifact, s.version()]));`);
      writeFileSync(join(dir, 'esm.mjs'), `import { Validator, version } from 'shinny-wasm';
import init, { Validator as W } from 'shinny-wasm/web';
console.log(JSON.stringify([typeof Validator.fromArtifact, version(), typeof init, typeof W]));`);
      const run = (file) => {
        const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout);
      };
      assert.deepEqual(run('cjs.cjs'), ['function', version()]);
      assert.deepEqual(run('esm.mjs'), ['function', version(), 'function', 'function']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('npm pack ships both builds, their types and the README', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json'], { cwd: pkg, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const files = JSON.parse(r.stdout)[0].files.map((f) => f.path).sort();
    for (const f of ['README.md', 'package.json', 'node/shinny_wasm.js', 'node/shinny_wasm.d.ts',
      'node/shinny_wasm_bg.wasm', 'web/shinny_wasm.js', 'web/shinny_wasm.d.ts', 'web/shinny_wasm_bg.wasm']) {
      assert.ok(files.includes(f), `${f} not in ${files}`);
    }
  });
});

describe('SHIN-NY example bundles', () => {
  const names = bundleNames();
  test('there are 18 example bundles', () => assert.equal(names.length, 18));

  for (const name of names) {
    test(`${name}: no error, same outcome as the native CLI`, () => {
      const text = readExample(name);
      const outcome = validator.validate(text);
      assert.equal(outcome.resourceType, 'OperationOutcome');
      assert.deepEqual(errorsOf(outcome), []);
      assert.deepEqual(outcome, native(join(exampleDir, name)));
    });
  }

  test('object and byte input give the same issues as text', () => {
    const text = readExample('Bundle-AHCHRSNQuestionnaireResponseExample.json');
    const fromText = validator.validate(text).issue.map(flat).map(({ id, severity, expression }) => ({ id, severity, expression }));
    const fromObject = validator.validate(JSON.parse(text)).issue.map(flat).map(({ id, severity, expression }) => ({ id, severity, expression }));
    assert.deepEqual(fromObject, fromText);
    assert.deepEqual(validator.validate(new TextEncoder().encode(text)), validator.validate(text));
  });

  test('test canonicals: production and test artifacts side by side', () => {
    const both = Validator.fromArtifacts([rules, readFileSync(testRulesPath)]);
    assert.equal(both.contextCount, 2);
    const names = bundleNames(testExampleDir);
    assert.equal(names.length, 18);
    for (const name of names) {
      const text = readExample(name, testExampleDir);
      assert.match(text, /test\.shinny\.org/);
      assert.deepEqual(errorsOf(both.validate(text)), [], name);
    }
  });
});

describe('broken variants', () => {
  for (const [name, v] of Object.entries(brokenVariants())) {
    test(name, () => {
      const errors = errorsOf(validator.validate(v.text));
      assert.ok(errors.length > 0, 'expected an error');
      const hit = errors.find((e) => (!v.id || e.id === v.id) && (!v.expression || e.expression === v.expression));
      assert.ok(hit, `no error ${v.id ?? ''} ${v.expression ?? ''} in ${JSON.stringify(errors, null, 1)}`);
      if (v.fatal) assert.equal(hit.severity, 'fatal');
      assert.ok(hit.line >= 1 && hit.col >= 1, 'the issue has a line and column');
      if (v.find) assert.deepEqual({ line: hit.line, col: hit.col }, lineColOf(v.text, v.find));
    });
  }

  test('JSON syntax errors are issues with line and column, not exceptions', () => {
    const outcome = validator.validate('{\n  "resourceType": "Patient",\n  "id": x\n}');
    const [e] = errorsOf(outcome);
    assert.equal(e.id, 'JSON_SYNTAX');
    assert.equal(e.severity, 'fatal');
    assert.deepEqual([e.line, e.col], [3, 9]);
    const bad = validator.validate(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    assert.equal(errorsOf(bad)[0].id, 'JSON_SYNTAX');
  });

  test('hostile input: deep nesting, empty input, random bytes, deep FHIR structures', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    assert.equal(errorsOf(validator.validate(deep))[0].severity, 'fatal');
    assert.equal(errorsOf(validator.validate(''))[0].id, 'JSON_SYNTAX');
    let seed = 7;
    const bytes = new Uint8Array(10_000).map(() => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff);
    assert.ok(errorsOf(validator.validate(bytes)).length > 0);
    // Within the depth limit (400) the validator recurses without trapping.
    const nested = { resourceType: 'Parameters', parameter: [] };
    let p = nested.parameter;
    for (let i = 0; i < 60; i++) {
      const inner = { name: `p${i}`, part: [] };
      p.push(inner);
      p = inner.part;
    }
    validator.validate(nested);
    // Extensions nested 195 deep (each with its invariants), Bundles in
    // Bundles 98 deep, contained resources 198 deep: all near the limit.
    const patient = { resourceType: 'Patient', extension: [] };
    let ext = patient.extension;
    for (let i = 0; i < 195; i++) {
      const x = { url: `http://example.org/e${i}`, extension: [] };
      ext.push(x);
      ext = x.extension;
    }
    ext.push({ url: 'http://example.org/leaf', valueString: 'a' });
    assert.ok(validator.validate(patient).issue.length > 195);
    const root = { resourceType: 'Bundle', type: 'collection' };
    let b = root;
    for (let i = 0; i < 98; i++) {
      const inner = { resourceType: 'Bundle', type: 'collection' };
      b.entry = [{ fullUrl: `urn:uuid:00000000-0000-0000-0000-${String(i).padStart(12, '0')}`, resource: inner }];
      b = inner;
    }
    assert.deepEqual(errorsOf(validator.validate(root)), []);
    const outer = { resourceType: 'Patient' };
    let c = outer;
    for (let i = 0; i < 198; i++) {
      const x = { resourceType: 'Patient', id: `p${i}` };
      c.contained = [x];
      c = x;
    }
    assert.ok(errorsOf(validator.validate(outer)).length > 0);
    assert.equal(lastPanic(), undefined);
  });

  test('300 random mutations of a SHIN-NY bundle: always an outcome, never a trap', () => {
    const base = readExample('Bundle-TaskExample.json');
    const doc = JSON.parse(base);
    let seed = 12345;
    const rnd = (n) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const values = [null, true, 0, -1.5e308, '', 'x'.repeat(1000), [], {}, [[[]]], { resourceType: 'Patient' }];
    // Every path to a value in the document, to replace one at random.
    const paths = [];
    const walk = (v, path) => {
      paths.push(path);
      if (v && typeof v === 'object') for (const k of Object.keys(v)) walk(v[k], [...path, k]);
    };
    walk(doc, []);
    for (let i = 0; i < 300; i++) {
      let input;
      if (i % 2 === 0) {
        const copy = structuredClone(doc);
        const path = paths[1 + rnd(paths.length - 1)];
        let parent = copy;
        for (const k of path.slice(0, -1)) parent = parent[k];
        parent[path.at(-1)] = values[rnd(values.length)];
        input = JSON.stringify(copy);
      } else {
        const at = rnd(base.length);
        const len = rnd(40);
        input = rnd(2) ? base.slice(0, at) + base.slice(at + len) : base.slice(0, at) + String.fromCharCode(rnd(0x3000)) + base.slice(at);
      }
      const outcome = validator.validate(input);
      assert.equal(outcome.resourceType, 'OperationOutcome');
      assert.ok(outcome.issue.length >= 1);
    }
    assert.equal(lastPanic(), undefined);
  });

  test('profile option: a Patient checked against the SHIN-NY Bundle profile', () => {
    const patient = '{"resourceType": "Patient", "id": "p1"}';
    assert.deepEqual(errorsOf(validator.validate(patient)), []);
    const errors = errorsOf(validator.validate(patient, {
      profile: 'http://shinny.org/us/ny/hrsn/StructureDefinition/SHINNYBundleProfile',
    }));
    assert.ok(errors.length > 0);
  });

  test('policy option, as text and as object', () => {
    const policyText = readFileSync(join(repoRoot, 'ig/policies/java-hub-threshold.json'), 'utf8');
    const text = readExample('Bundle-AHCHRSNScreeningResponseExample.json');
    const plain = validator.validate(text);
    assert.ok(plain.issue.some((i) => i.severity === 'warning'));
    const viaText = validator.validate(text, { policy: policyText });
    const viaObject = validator.validate(text, { policy: JSON.parse(policyText) });
    assert.deepEqual(viaObject, viaText);
    assert.match(JSON.stringify(viaText), /java-hub-threshold/);
    // Only error and fatal issues are reported; none here, so one "empty" issue.
    assert.ok(viaText.issue.every((i) => i.severity !== 'warning'), JSON.stringify(viaText));
    assert.ok(viaText.issue.length < plain.issue.length);
  });
});
