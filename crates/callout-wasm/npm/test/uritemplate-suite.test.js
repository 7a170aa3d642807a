// The RFC 6570 test suite (uritemplate-test) through the installed package. The suite's folder
// comes from CALLOUT_URITEMPLATE_SUITE, which scripts/test-npm sets to
// shared/corpora/uritemplate-test beside the checkout.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { TemplateError, render } from "@callout/template";

/** The suite's files, each expected to hold at least this many cases. */
const FILES = [
  ["spec-examples.json", 60],
  ["spec-examples-by-section.json", 110],
  ["negative-tests.json", 30],
];

const folder = process.env.CALLOUT_URITEMPLATE_SUITE ?? "";

function outcome(template, values) {
  try {
    return render(template, values);
  } catch (error) {
    // Only a template error counts as rejecting the template; anything else is a fault.
    if (!(error instanceof TemplateError)) throw error;
    return false;
  }
}

for (const [name, minimum] of FILES) {
  test(`uritemplate-test ${name}`, (t) => {
    const path = join(folder, name);
    if (folder === "" || !existsSync(path)) {
      const message = `the RFC 6570 suite is missing at ${path}: set CALLOUT_URITEMPLATE_SUITE`;
      assert.notEqual(process.env.CI, "true", message);
      console.log(`skipped: ${message}`);
      t.skip(message);
      return;
    }

    let count = 0;
    const failures = [];
    for (const [group, body] of Object.entries(JSON.parse(readFileSync(path, "utf8")))) {
      for (const [template, expected] of body.testcases) {
        count++;
        const rendered = outcome(template, body.variables);
        const accepted = Array.isArray(expected) ? expected : [expected];
        if (!accepted.includes(rendered)) {
          failures.push(`${group}: ${JSON.stringify(template)} gave ${JSON.stringify(rendered)}, expected ${JSON.stringify(expected)}`);
        }
      }
    }
    assert.deepEqual(failures, [], `${failures.length} failures`);
    assert.ok(count >= minimum, `${name}: only ${count} cases ran`);
  });
}
