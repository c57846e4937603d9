// The in-browser bundle check: loads the shinny WebAssembly module and the
// SHIN-NY rules artifacts served next to this page, validates the text of
// the textarea, and lists the issues; clicking an issue selects its place
// in the text. No framework, no network access besides this page's files.
//
// For tests and measurements, `window.shinny` exposes the loaded validator
// ({ ready, validator, lastOutcome, lastMillis, Validator }).

import init, { Validator, version } from './pkg/shinny_wasm.js';

const $ = (id) => document.getElementById(id);
const input = $('input');
const statusLine = $('status');
const summary = $('summary');
const list = $('issues');
const filters = $('filters');
const checkButton = $('validate');

const LINE_URL = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line';
const COL_URL = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col';
const ID_URL = 'http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id';

const state = { ready: null, validator: null, lastOutcome: null, lastMillis: null, Validator };
window.shinny = state;

/** Fetches a rules artifact; `optional` ones may be missing (404). */
async function fetchArtifact(url, optional) {
  const res = await fetch(url);
  if (!res.ok) {
    if (optional) return null;
    throw new Error(`${url}: HTTP ${res.status}`);
  }
  return new Uint8Array(await res.arrayBuffer());
}

async function load() {
  await init();
  const [prod, test] = await Promise.all([
    fetchArtifact('shinny.rules', false),
    fetchArtifact('shinny-test.rules', true),
  ]);
  state.validator = Validator.fromArtifacts(test ? [prod, test] : [prod]);
  $('version').textContent = `shinny ${version()}`;
  checkButton.disabled = false;
  setStatus(
    'Ready. Rules: SHIN-NY HRSN 1.9.4' + (test ? ' (production and test profiles).' : '.'),
    'ok',
  );
}

function setStatus(text, kind) {
  statusLine.textContent = text;
  statusLine.className = `status ${kind || ''}`;
}

/** One issue, flattened for display. */
function flatten(issue, index) {
  const ext = issue.extension || [];
  const find = (url) => ext.find((e) => e.url === url);
  const sev = issue.severity === 'fatal' ? 'error' : issue.severity;
  return {
    index,
    severity: sev,
    fatal: issue.severity === 'fatal',
    text: (issue.details && issue.details.text) || issue.diagnostics || issue.code,
    id: find(ID_URL)?.valueString || '',
    line: find(LINE_URL)?.valueInteger,
    col: find(COL_URL)?.valueInteger,
    expression: (issue.expression || [])[0] || '',
    diagnostics: issue.diagnostics || '',
  };
}

/** "Patient in entry 4, field name[0].given" from a FHIRPath location. */
function describeWhere(expression) {
  const m = /^Bundle\.entry\[(\d+)\]\.resource(?:\.ofType\((\w+)\))?\.?(.*)$/.exec(expression);
  if (m) {
    const what = m[2] || 'resource';
    return `${what} in entry ${Number(m[1]) + 1}` + (m[3] ? `, field ${m[3]}` : '');
  }
  const dot = expression.indexOf('.');
  return dot > 0 ? `${expression.slice(0, dot)}, field ${expression.slice(dot + 1)}` : expression;
}

function validate() {
  if (!state.validator) return;
  const text = input.value;
  if (!text.trim()) {
    setStatus('Paste a bundle or drop a file first.', 'warn');
    return;
  }
  let outcome;
  const t0 = performance.now();
  try {
    outcome = state.validator.validate(text);
  } catch (e) {
    setStatus(`The check could not run: ${e.message}`, 'bad');
    return;
  }
  state.lastMillis = performance.now() - t0;
  state.lastOutcome = outcome;
  render(outcome);
}

function render(outcome) {
  const all = outcome.issue.map(flatten);
  // An empty outcome is rendered by FHIR as one "All OK" issue without id.
  const issues = all.filter((i) => i.id !== '');
  const count = (s) => issues.filter((i) => i.severity === s).length;
  const errors = count('error');
  const warnings = count('warning');
  const infos = count('information');
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

  summary.hidden = false;
  summary.className = `summary ${errors ? 'invalid' : 'valid'}`;
  summary.replaceChildren();
  const head = document.createElement('strong');
  head.className = 'verdict';
  head.textContent = errors
    ? 'Not valid: fix the errors below before sending this bundle.'
    : `Valid: no errors found.${warnings ? ' Please review the warnings.' : ''}`;
  const counts = document.createElement('span');
  counts.className = 'counts';
  counts.dataset.errors = errors;
  counts.dataset.warnings = warnings;
  counts.dataset.information = infos;
  counts.textContent = `${plural(errors, 'error')}, ${plural(warnings, 'warning')}, `
    + `${infos} information (checked in ${state.lastMillis.toFixed(0)} ms)`;
  summary.append(head, document.createElement('br'), counts);
  filters.hidden = issues.length === 0;

  for (const box of filters.querySelectorAll('input[data-sev]')) {
    box.nextElementSibling.textContent = `${box.dataset.label} (${count(box.dataset.sev)})`;
  }
  // Errors first, then warnings, then information; document order within.
  const rank = { error: 0, warning: 1, information: 2 };
  const sorted = [...issues].sort((a, b) => rank[a.severity] - rank[b.severity] || a.index - b.index);
  list.replaceChildren(...sorted.map(renderIssue));
  applyFilters();
  setStatus('', '');
}

function renderIssue(issue) {
  const li = document.createElement('li');
  li.className = `issue sev-${issue.severity}`;
  li.dataset.severity = issue.severity;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'issue-button';
  if (issue.line) {
    button.dataset.line = issue.line;
    button.dataset.col = issue.col || 1;
    button.title = 'Show this place in the text';
    button.addEventListener('click', () => {
      for (const b of list.querySelectorAll('[aria-current]')) b.removeAttribute('aria-current');
      button.setAttribute('aria-current', 'true');
      goTo(issue.line, issue.col || 1);
    });
  } else {
    button.disabled = true;
  }
  const sev = document.createElement('span');
  sev.className = `sev sev-${issue.severity}`;
  sev.textContent = issue.fatal ? 'error (fatal)' : issue.severity;
  const msg = document.createElement('span');
  msg.className = 'message';
  msg.textContent = issue.text;
  const where = document.createElement('span');
  where.className = 'where';
  where.textContent = (issue.line ? `Line ${issue.line}, column ${issue.col}` : 'No position')
    + (issue.expression ? ` · ${describeWhere(issue.expression)}` : '');
  const tech = document.createElement('span');
  tech.className = 'tech';
  tech.textContent = [issue.id, issue.expression, issue.diagnostics].filter(Boolean).join(' · ');
  button.append(sev, msg, where, tech);
  li.append(button);
  return li;
}

function applyFilters() {
  const shown = new Set(
    [...filters.querySelectorAll('input[data-sev]')].filter((c) => c.checked).map((c) => c.dataset.sev),
  );
  for (const li of list.children) li.hidden = !shown.has(li.dataset.severity);
}

/** The UTF-16 offset of a 1-based line and column (columns count characters). */
export function offsetOf(text, line, col) {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  for (let c = 1; c < col && offset < text.length && text[offset] !== '\n'; c++) {
    const code = text.charCodeAt(offset);
    offset += code >= 0xd800 && code <= 0xdbff ? 2 : 1;
  }
  return offset;
}

/** Selects the token at line/column in the textarea and scrolls to it. */
function goTo(line, col) {
  const text = input.value;
  const start = offsetOf(text, line, col);
  let end = start;
  while (end < text.length && !',\n}]'.includes(text[end])) end++;
  if (end === start) end = Math.min(text.length, start + 1);
  input.focus();
  input.setSelectionRange(start, end);
  const style = getComputedStyle(input);
  const lineHeight = parseFloat(style.lineHeight) || 18;
  input.scrollTop = Math.max(0, (line - 1) * lineHeight - input.clientHeight / 3);
  const charWidth = measureChar(style);
  input.scrollLeft = Math.max(0, (col - 1) * charWidth - input.clientWidth / 2);
  showCursor();
}

let charWidthCache = null;
function measureChar(style) {
  if (charWidthCache) return charWidthCache;
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${style.fontSize} ${style.fontFamily}`;
  charWidthCache = ctx.measureText('0000000000').width / 10 || 8;
  return charWidthCache;
}

/** Shows the caret's line and column, so people can find a place by hand. */
function showCursor() {
  const before = input.value.slice(0, input.selectionStart);
  const line = before.split('\n').length;
  const col = [...before.slice(before.lastIndexOf('\n') + 1)].length + 1;
  $('cursor').textContent = `Cursor: line ${line}, column ${col}`;
}

async function loadFile(file) {
  if (!file) return;
  input.value = await file.text();
  setStatus(`Loaded ${file.name}.`, '');
  validate();
}

/** Re-indents the JSON (one member per line), then checks it again. */
function format() {
  let parsed;
  try {
    parsed = JSON.parse(input.value);
  } catch {
    setStatus('The text is not valid JSON, so it cannot be laid out: press Check bundle to see where.', 'warn');
    return;
  }
  input.value = JSON.stringify(parsed, null, 2);
  if (state.lastOutcome) validate();
}

function download() {
  if (!state.lastOutcome) return;
  const blob = new Blob([JSON.stringify(state.lastOutcome, null, 2)], { type: 'application/fhir+json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'shinny-report.json';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

checkButton.addEventListener('click', validate);
$('format').addEventListener('click', format);
$('clear').addEventListener('click', () => {
  input.value = '';
  summary.hidden = true;
  filters.hidden = true;
  list.replaceChildren();
  input.focus();
});
$('file').addEventListener('change', (e) => loadFile(e.target.files[0]));
$('download').addEventListener('click', download);
filters.addEventListener('change', applyFilters);
for (const ev of ['keyup', 'click', 'select']) input.addEventListener(ev, showCursor);
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) validate();
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  loadFile(e.dataTransfer.files[0]);
});

state.ready = load().catch((e) => {
  setStatus(`The validator could not be loaded (${e.message}). Reload the page; if it happens again, contact your QE's support.`, 'bad');
  throw e;
});
