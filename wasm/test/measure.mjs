// Prints the WASM figures for the README: .wasm size (raw, gzipped), the
// rules artifact size, and per SHIN-NY example bundle the median
// validation time in headless Chromium and in Node against native.
//
// usage: node measure.mjs NATIVE_JSONL [RUNS]
//   NATIVE_JSONL: the output of the native_timing example (wasm/measure.sh
//   runs both).

import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { serve } from './serve.mjs';
import { launch } from './chromium.mjs';
import { rulesPath, loadPackage, bundleNames, readExample, exampleDir, repoRoot } from './common.mjs';

const [nativeFile, runsArg] = process.argv.slice(2);
if (!nativeFile) {
  console.error('usage: node measure.mjs NATIVE_JSONL [RUNS]');
  process.exit(2);
}
const runs = Number(runsArg || 20);
const native = new Map(
  readFileSync(nativeFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((r) => [r.name, r]),
);

const mib = (n) => `${(n / 1048576).toFixed(2)} MiB`;
const sizeLine = (label, file) => {
  const bytes = readFileSync(file);
  const gz = gzipSync(bytes, { level: 9 }).length;
  console.log(`${label}: ${bytes.length} bytes (${mib(bytes.length)}), gzip -9 ${gz} bytes (${mib(gz)})`);
};

let cpu = 'unknown';
try {
  cpu = /Model name:\s*(.*)/.exec(execFileSync('lscpu', { encoding: 'utf8' }))[1].trim();
} catch { /* no lscpu */ }
console.log(`machine: ${cpu}, ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores`);
sizeLine('wasm (web/shinny_wasm_bg.wasm)', join(repoRoot, 'wasm/pkg/web/shinny_wasm_bg.wasm'));
sizeLine('JS glue (web/shinny_wasm.js)', join(repoRoot, 'wasm/pkg/web/shinny_wasm.js'));
sizeLine('SHIN-NY rules artifact (target/shinny.rules)', rulesPath);

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// Node (V8, same WebAssembly engine as Chromium).
const { Validator } = loadPackage();
const rules = readFileSync(rulesPath);
const loadTimes = [];
let v;
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  v = Validator.fromArtifact(rules);
  loadTimes.push(performance.now() - t0);
}
const node = new Map();
const texts = bundleNames().map((n) => [n, readExample(n)]);
// Warm-up: every bundle three times, so the engine's code is fully tiered up.
for (let i = 0; i < 3; i++) for (const [, text] of texts) v.validate(text);
for (const [name, text] of texts) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    v.validate(text);
    times.push(performance.now() - t0);
  }
  node.set(name, { median: median(times), min: Math.min(...times) });
}

// Chromium, through the page.
const server = await serve();
const browser = await launch();
let chromium;
let chromiumLoad;
try {
  await browser.page.goto(server.url);
  await browser.page.waitForFunction(() => window.shinny && window.shinny.validator, null, { timeout: 60_000 });
  ({ chromium, chromiumLoad } = await browser.page.evaluate(async ({ names, runs }) => {
    const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const bytes = new Uint8Array(await (await fetch('shinny.rules')).arrayBuffer());
    const load = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      window.shinny.Validator.fromArtifact(bytes).free();
      load.push(performance.now() - t0);
    }
    const v = window.shinny.validator;
    const out = {};
    const texts = [];
    for (const name of names) texts.push([name, await (await fetch(`examples/${name}`)).text()]);
    for (let i = 0; i < 3; i++) for (const [, text] of texts) v.validate(text);
    for (const [name, text] of texts) {
      const times = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        v.validate(text);
        times.push(performance.now() - t0);
      }
      out[name] = { median: med(times), min: Math.min(...times) };
    }
    return { chromium: out, chromiumLoad: med(load) };
  }, { names: bundleNames(), runs }));
} finally {
  await browser.close();
  await server.close();
}

console.log(`load the rules artifact: Chromium ${chromiumLoad.toFixed(1)} ms, Node ${median(loadTimes).toFixed(1)} ms`);
console.log(`\nper bundle: fastest / median of ${runs} runs (ms), after a warm-up; validate() of the JSON text,`);
console.log('including the OperationOutcome (native: rendered to JSON text; wasm: a JS object). The ratio');
console.log('compares the fastest runs, the least disturbed by other load on the machine.\n');
console.log('| bundle | size | native | Chromium | Chromium / native | Node |');
console.log('|---|---:|---:|---:|---:|---:|');
const f = (x) => x.toFixed(2);
const sums = { n: 0, c: 0, o: 0, nm: 0, cm: 0, om: 0 };
const ratios = [];
for (const name of bundleNames()) {
  const nat = native.get(name);
  if (!nat) throw new Error(`no native time for ${name}`);
  const n = { min: nat.min_ms, median: nat.median_ms };
  const c = chromium[name];
  const o = node.get(name);
  sums.n += n.min; sums.c += c.min; sums.o += o.min;
  sums.nm += n.median; sums.cm += c.median; sums.om += o.median;
  ratios.push(c.min / n.min);
  const kb = (statSync(join(exampleDir, name)).size / 1024).toFixed(0);
  console.log(`| ${name.replace(/^Bundle-|\.json$/g, '')} | ${kb} KiB | ${f(n.min)} / ${f(n.median)} | ${f(c.min)} / ${f(c.median)} | ${(c.min / n.min).toFixed(2)}x | ${f(o.min)} / ${f(o.median)} |`);
}
const geo = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
console.log(`| **all 18** | | ${sums.n.toFixed(1)} / ${sums.nm.toFixed(1)} | ${sums.c.toFixed(1)} / ${sums.cm.toFixed(1)} | ${(sums.c / sums.n).toFixed(2)}x (geometric mean ${geo.toFixed(2)}x, max ${Math.max(...ratios).toFixed(2)}x) | ${sums.o.toFixed(1)} / ${sums.om.toFixed(1)} |`);
