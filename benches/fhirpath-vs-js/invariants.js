// Evaluates every invariant on the SHIN-NY Bundle profile's root element on
// the largest SHIN-NY example bundle with the reference JS FHIRPath engine
// (npm `fhirpath`, R4 model), and prints the same lines as shinny's
// `examples/invariants_time.rs`: the outcome counts, then the time per
// iteration (all expressions once), compiled once beforehand.
//
// node invariants.js <shared dir> [seconds]
'use strict';
const fs = require('fs');
const path = require('path');
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');

const shared = process.argv[2] || path.join(__dirname, '../../../shared');
const seconds = Number(process.argv[3] || 3);
const pkg = path.join(shared, 'fhir-packages/us.ny.hrsn#1.9.4/package');

// The same list as shinny_suite::bundle_root_constraints().
const sd = JSON.parse(
  fs.readFileSync(path.join(pkg, 'StructureDefinition-SHINNYBundleProfile.json'), 'utf8'));
const constraints = sd.snapshot.element[0].constraint.filter((c) => c.key && c.expression);

// The same file as shinny_suite::largest_shinny_bundle(): largest by size.
const exampleDir = path.join(pkg, 'example');
const bundleFile = fs.readdirSync(exampleDir)
  .filter((n) => n.startsWith('Bundle-') && n.endsWith('.json'))
  .map((n) => path.join(exampleDir, n))
  .reduce((a, b) => (fs.statSync(b).size > fs.statSync(a).size ? b : a));
const bundle = JSON.parse(fs.readFileSync(bundleFile, 'utf8'));
// %resource and %rootResource are the bundle, as in shinny's
// EvalInput::resource (bdl-3 and bdl-4 use %resource).
const env = { resource: bundle, rootResource: bundle };

// Expressions the JS engine cannot parse are skipped (and named, so that
// run.sh skips them on shinny's side too): `ServiceRequest-CategoryCode`
// uses `x.(expr)`, an HL7 Java engine extension that shinny accepts.
const compiled = [];
const keys = [];
const skipped = [];
for (const c of constraints) {
  try {
    compiled.push(fhirpath.compile({ base: 'Bundle', expression: c.expression }, r4));
    keys.push(c.key);
  } catch (e) {
    skipped.push(c.key);
  }
}
console.log(`skipped ${skipped.join(' ')}`);

// true / false / empty / error, with the invariant rule for a result
// (empty: not applicable; one boolean: itself; anything else: true).
const counts = [0, 0, 0, 0];
const notTrue = [];
compiled.forEach((f, i) => {
  try {
    const r = f(bundle, env);
    if (r.length === 0) counts[2] += 1;
    else if (r.length === 1 && r[0] === false) counts[1] += 1;
    else counts[0] += 1;
    if (r.length === 1 && r[0] === false) notTrue.push(`${keys[i]}=false`);
    if (r.length === 0) notTrue.push(`${keys[i]}=empty`);
  } catch (e) {
    counts[3] += 1;
    notTrue.push(`${keys[i]}=error(${String(e.message || e).split('\n')[0]})`);
  }
});
console.log(`expressions ${compiled.length} results ${counts.join(' ')}`);
console.log(`not_true ${notTrue.join(' ')}`);

function run() {
  for (const f of compiled) {
    try {
      f(bundle, env);
    } catch (e) {
      // counted above
    }
  }
}
const warm = process.hrtime.bigint();
while (Number(process.hrtime.bigint() - warm) < 300e6) run();
const start = process.hrtime.bigint();
let iters = 0;
while (Number(process.hrtime.bigint() - start) < seconds * 1e9) {
  for (let i = 0; i < 10; i += 1) run();
  iters += 10;
}
const us = Number(process.hrtime.bigint() - start) / 1e3 / iters;
console.log(`us_per_iter ${us.toFixed(1)}`);
