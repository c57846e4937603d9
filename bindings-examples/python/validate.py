#!/usr/bin/env python3
"""Validates one FHIR JSON file with libshinny and prints the outcome.

usage: validate.py RULES_ARTIFACT FILE [EXPECTED_MESSAGE_ID]

Exit 0 when the file has no error or, with EXPECTED_MESSAGE_ID, when it has
an error and an issue carries that id; 1 otherwise.
"""
import json
import sys

import shinny

rules, path = sys.argv[1], sys.argv[2]
expected = sys.argv[3] if len(sys.argv) > 3 else None
with shinny.Context.from_artifact_file(rules) as ctx:
    with open(path, "rb") as f:
        result = ctx.validate(f.read())
print(json.dumps(result.outcome, indent=2))
print(f"libshinny {shinny.version}: {result.error_count} error(s), max severity {result.max_severity}")
if expected is None:
    sys.exit(0 if result.error_count == 0 else 1)
if expected not in result.message_ids():
    print(f"expected message id {expected} not reported", file=sys.stderr)
    sys.exit(1)
sys.exit(0 if result.error_count > 0 else 1)
