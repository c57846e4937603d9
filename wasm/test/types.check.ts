// Compile-only check of the package's TypeScript types (`npx tsc -p .`):
// the documented usage type-checks, and misuse does not.

declare function readFileSync(path: string): Uint8Array;
import { Validator, version, lastPanic } from '../pkg/node/shinny_wasm.js';
import type { OperationOutcome, OperationOutcomeIssue, ValidateOptions } from '../pkg/node/shinny_wasm.js';
import init, { Validator as WebValidator } from '../pkg/web/shinny_wasm.js';

const v: Validator = Validator.fromArtifact(readFileSync('shinny.rules'));
const both: Validator = Validator.fromArtifacts([new Uint8Array(0), new Uint8Array(0)]);
const options: ValidateOptions = { profile: 'http://example.org/p', policy: { formatVersion: 1 } };
const outcome: OperationOutcome = v.validate('{"resourceType": "Patient"}', options);
const fromObject: OperationOutcome = v.validate({ resourceType: 'Patient' });
const fromBytes: OperationOutcome = both.validate(new Uint8Array(0), { policy: '{}' });
const errors: OperationOutcomeIssue[] = outcome.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal');
const line: number | undefined = errors[0]?.extension?.find((e) => e.url.endsWith('-line'))?.valueInteger;
const n: number = both.contextCount;
const text: string = version();
const panic: string | undefined = lastPanic();
v.free();

async function web(): Promise<OperationOutcome> {
  await init();
  return WebValidator.fromArtifact(new Uint8Array(0)).validate('{}');
}

// @ts-expect-error: a profile is a string
v.validate('{}', { profile: 1 });
// @ts-expect-error: severities are FHIR codes
const bad: OperationOutcomeIssue['severity'] = 'critical';

export { fromObject, fromBytes, line, n, text, panic, web, bad };
