// Validates one FHIR JSON file with libshinny and prints the outcome.
//
// usage: node validate.js RULES_ARTIFACT FILE [EXPECTED_MESSAGE_ID]
//
// Exit 0 when the file has no error or, with EXPECTED_MESSAGE_ID, when it
// has an error and an issue carries that id; 1 otherwise.
'use strict';

const fs = require('fs');
const shinny = require('./shinny');

const [rules, file, expected] = process.argv.slice(2);
const ctx = shinny.Context.fromArtifactFile(rules);
const result = ctx.validate(fs.readFileSync(file));
ctx.close();
console.log(JSON.stringify(result.outcome, null, 2));
console.log(`libshinny ${shinny.version}: ${result.errorCount} error(s), max severity ${result.maxSeverity}`);
if (expected === undefined) {
  process.exitCode = result.errorCount === 0 ? 0 : 1;
} else if (!shinny.messageIds(result.outcome).includes(expected)) {
  console.error(`expected message id ${expected} not reported`);
  process.exitCode = 1;
} else {
  process.exitCode = result.errorCount > 0 ? 0 : 1;
}
