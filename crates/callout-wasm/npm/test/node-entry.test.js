// The Node.js entry: ready on import, with an init() that resolves at once.

import assert from "node:assert/strict";
import { test } from "node:test";

import * as template from "@callout/template";

test("node entry is ready on import", async () => {
  assert.equal(template.render("{a}", { a: "1" }), "1");
  assert.equal(await template.init(), undefined);
  assert.equal(template.render("{a}", { a: "2" }), "2");
});

test("node entry exports the whole API", () => {
  assert.deepEqual(Object.keys(template).sort(), [
    "CompiledTemplate",
    "InputError",
    "TemplateError",
    "catalogue",
    "compile",
    "init",
    "parse",
    "render",
    "validate",
  ]);
});
