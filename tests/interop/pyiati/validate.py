"""Full IATI validation of one activity file with pyIATI, as a publisher would run it.

Usage: validate.py FILE.xml

Checks the file against the IATI 2.03 activity schema, its codelists and the IATI Standard
Ruleset as bundled with pyIATI (iati.validator.full_validation). pyIATI 0.4.1 skips the rules
whose context it cannot evaluate (it warns `warn-rule-skipped`, among them "a baseline,
target or actual of a measured indicator has a value"), so every rule of the same ruleset
file is also applied here with lxml's XPath, as the IATI-Rulesets documentation defines the
five rule types the file uses (atleast_one, no_more_than_one, date_order, regex_matches,
sum). Prints one line per error or warning; exits 1 when there is an error, 0 otherwise.
"""

import datetime
import json
import os
import re
import sys

from lxml import etree

import iati
import iati.default
import iati.validator


def ruleset_path():
    base = os.path.dirname(iati.__file__)
    return os.path.join(
        base, "resources", "standard", "2-03", "rulesets", "standard_ruleset.json"
    )


def values(element, path):
    found = element.xpath(path)
    return [str(v) for v in found] if isinstance(found, list) else [str(found)]


def apply_ruleset(document):
    """Errors of the IATI Standard Ruleset 2.03, one string each."""
    with open(ruleset_path()) as f:
        ruleset = json.load(f)
    today = datetime.date.today().isoformat()
    errors = []
    for context, rules in ruleset.items():
        for element in document.xpath(context):
            where = f"{context} (line {element.sourceline})"
            for kind, spec in rules.items():
                for case in spec["cases"]:
                    if kind == "atleast_one":
                        if not any(element.xpath(p) for p in case["paths"]):
                            errors.append(f"{where}: none of {case['paths']}")
                    elif kind == "no_more_than_one":
                        if sum(len(element.xpath(p)) for p in case["paths"]) > 1:
                            errors.append(f"{where}: more than one of {case['paths']}")
                    elif kind == "date_order":
                        def dates(path):
                            return [today] if path == "NOW" else [v[:10] for v in values(element, path)]
                        for less in dates(case["less"]):
                            for more in dates(case["more"]):
                                if less > more:
                                    errors.append(f"{where}: {case['less']} {less} after {case['more']} {more}")
                    elif kind == "regex_matches":
                        for p in case["paths"]:
                            for v in values(element, p):
                                if not re.fullmatch(case["regex"], v):
                                    errors.append(f"{where}: {p} {v!r} does not match {case['regex']}")
                    elif kind == "sum":
                        found = [float(v) for p in case["paths"] for v in values(element, p)]
                        if found and abs(sum(found) - case["sum"]) > 1e-9:
                            errors.append(f"{where}: {case['paths']} sum to {sum(found)}, not {case['sum']}")
                    else:
                        errors.append(f"{where}: rule type {kind} is not known to this checker")
    return errors


def main(path):
    with open(path, "rb") as f:
        raw = f.read()
    dataset = iati.Dataset(raw)
    schema = iati.default.activity_schema("2.03", populate=True)
    log = iati.validator.full_validation(dataset, schema)
    errors = 0
    for entry in log:
        line = getattr(entry, "line_number", "?")
        print(f"{entry.status}: {entry.name}: {entry.info} (line {line})")
        if entry.status == "error":
            errors += 1
    for error in apply_ruleset(etree.fromstring(raw)):
        print(f"error: ruleset: {error}")
        errors += 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
