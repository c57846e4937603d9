#!/usr/bin/env python3
"""Writes the broken bundles the examples are checked with, derived from a
valid SHIN-NY example bundle, and prints nothing.

usage: make-fixtures.py VALID_BUNDLE OUT_DIR

- missing-type.json: Bundle.type (1..1) removed -> CARDINALITY_MIN
- unknown-element.json: a property FHIR does not define added to the
  first entry's resource -> ELEMENT_UNKNOWN
"""
import json
import os
import sys

valid, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
with open(valid, encoding="utf-8") as f:
    bundle = json.load(f)

missing = json.loads(json.dumps(bundle))
del missing["type"]
with open(os.path.join(out, "missing-type.json"), "w", encoding="utf-8") as f:
    json.dump(missing, f, indent=2)

unknown = json.loads(json.dumps(bundle))
unknown["entry"][0]["resource"]["favouriteColour"] = "blue"
with open(os.path.join(out, "unknown-element.json"), "w", encoding="utf-8") as f:
    json.dump(unknown, f, indent=2)
