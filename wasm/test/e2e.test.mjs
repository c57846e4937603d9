// End to end: serves bindings-examples/web on 127.0.0.1, drives Debian's
// Chromium headless through playwright-core, loads a bundle by the file
// picker and by pasting, reads the summary and the issues from the page,
// clicks an issue and checks the text selection, and saves screenshots
// under target/ci-artifacts/. Run wasm/build.sh first.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from './serve.mjs';
import { launch } from './chromium.mjs';
import { repoRoot, readExample, brokenVariants, lineColOf } from './common.mjs';

const artifacts = join(repoRoot, 'target/ci-artifacts');
let server;
let browser;
let page;
const pageErrors = [];

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  server = await serve();
  browser = await launch();
  page = browser.page;
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await page.goto(server.url);
  await page.waitForFunction(() => window.shinny && window.shinny.validator, null, { timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** The summary counts and the listed issues, as the page shows them. */
async function readResults() {
  return page.evaluate(() => {
    const counts = document.querySelector('#summary .counts');
    return {
      verdict: document.querySelector('#summary .verdict').textContent,
      valid: document.querySelector('#summary').classList.contains('valid'),
      errors: Number(counts.dataset.errors),
      warnings: Number(counts.dataset.warnings),
      information: Number(counts.dataset.information),
      issues: [...document.querySelectorAll('#issues li')].map((li) => ({
        severity: li.dataset.severity,
        message: li.querySelector('.message').textContent,
        where: li.querySelector('.where').textContent,
        tech: li.querySelector('.tech').textContent,
      })),
    };
  });
}

test('the page loads the validator and the rules', async () => {
  assert.match(await page.textContent('#status'), /Ready/);
  assert.equal(await page.isEnabled('#validate'), true);
});

test('a valid SHIN-NY bundle chosen with the file picker is reported valid', async () => {
  const name = 'Bundle-AHCHRSNQuestionnaireResponseExample.json';
  await page.setInputFiles('#file', {
    name,
    mimeType: 'application/json',
    buffer: Buffer.from(readExample(name)),
  });
  await page.waitForSelector('#summary:not([hidden])');
  const r = await readResults();
  assert.equal(r.valid, true, r.verdict);
  assert.equal(r.errors, 0);
  assert.match(r.verdict, /Valid/);
  // The example is written on one line: lay it out, and it is checked again.
  assert.equal(await page.$eval('#input', (a) => a.value.split('\n').length), 1);
  await page.click('#format');
  assert.ok((await page.$eval('#input', (a) => a.value.split('\n').length)) > 1000);
  const again = await readResults();
  assert.equal(again.valid, true);
  assert.ok(again.issues.some((i) => /^Line \d{2,}, column/.test(i.where)), 'issues now point below line 1');
  await page.screenshot({ path: join(artifacts, 'web-page-valid.png') });
});

test('a pasted broken bundle lists its errors; clicking one selects its place', async () => {
  const v = brokenVariants()['unknown element'];
  await page.click('#clear');
  // Paste, as a person would: the text goes through the clipboard event.
  await page.focus('#input');
  await page.evaluate((text) => {
    const data = new DataTransfer();
    data.setData('text/plain', text);
    const area = document.getElementById('input');
    const ok = area.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    // Chromium does not insert synthetic paste data itself: do what it would.
    if (ok) area.setRangeText(text, area.selectionStart, area.selectionEnd, 'end');
  }, v.text);
  await page.click('#validate');
  await page.waitForSelector('#summary.invalid');
  const r = await readResults();
  assert.equal(r.valid, false);
  assert.ok(r.errors >= 1);
  assert.match(r.verdict, /Not valid/);
  const idx = r.issues.findIndex((i) => i.tech.startsWith('ELEMENT_UNKNOWN'));
  assert.ok(idx >= 0, JSON.stringify(r.issues, null, 1));
  const issue = r.issues[idx];
  assert.equal(issue.severity, 'error');
  assert.match(issue.message, /favouriteColour/);
  const at = lineColOf(v.text, '"favouriteColour"');
  assert.match(issue.where, new RegExp(`^Line ${at.line}, column ${at.col} · \\w+ in entry 1, field favouriteColour$`));

  await page.locator('#issues li').nth(idx).locator('button').click();
  const sel = await page.evaluate(() => {
    const a = document.getElementById('input');
    return { selected: a.value.slice(a.selectionStart, a.selectionEnd), focused: document.activeElement === a, cursor: document.getElementById('cursor').textContent };
  });
  assert.equal(sel.focused, true);
  assert.match(sel.selected, /^"favouriteColour": "blue"/);
  assert.equal(sel.cursor, `Cursor: line ${at.line}, column ${at.col}`);
  await page.screenshot({ path: join(artifacts, 'web-page.png') });
});

test('invalid JSON is reported as an issue with its line, not a crash', async () => {
  await page.fill('#input', '{\n  "resourceType": "Bundle",\n  "type": oops\n}');
  await page.click('#validate');
  await page.waitForSelector('#summary.invalid');
  const r = await readResults();
  assert.equal(r.issues[0].severity, 'error');
  assert.match(r.issues[0].tech, /^JSON_SYNTAX/);
  assert.match(r.issues[0].where, /^Line 3, column 11/);
});

test('a file dropped on the text box is loaded and checked', async () => {
  const text = readExample('Bundle-TaskExample.json');
  await page.evaluate((content) => {
    const data = new DataTransfer();
    data.items.add(new File([content], 'Bundle-TaskExample.json', { type: 'application/json' }));
    const drop = document.getElementById('drop');
    drop.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
    drop.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, text);
  await page.waitForFunction((t) => document.getElementById('input').value === t, text);
  await page.waitForSelector('#summary.valid');
  const r = await readResults();
  assert.equal(r.errors, 0);
  assert.match(await page.textContent('#status'), /^$|Loaded/);
});

test('no script error on the page', () => {
  assert.deepEqual(pageErrors, []);
});
