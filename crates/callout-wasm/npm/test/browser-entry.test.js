// The entry for browsers and bundlers, run in Node with the module's bytes passed to init().
// This file imports only that entry: the Node.js entry would instantiate the module on import.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as browser from "@callout/template/browser";

const wasmUrl = new URL("./wasm/callout_wasm_bg.wasm", import.meta.resolve("@callout/template/browser"));

test("functions throw before init", () => {
  assert.throws(() => browser.render("{a}", { a: "1" }), /not initialized: call `await init\(\)`/);
  assert.throws(() => browser.compile("{a}"), /not initialized/);
  assert.throws(() => browser.parse("{a}"), /not initialized/);
  assert.throws(() => browser.catalogue(), /not initialized/);
});

test("init with bytes readies every function", async () => {
  const first = browser.init(readFileSync(wasmUrl));
  assert.equal(browser.init(), first, "later calls return the same promise");
  assert.equal(await first, undefined);

  assert.equal(browser.render("https://x/{v}", { v: "a & b" }), "https://x/a%20%26%20b");
  assert.equal(browser.compile("{?v}").render({ v: "é" }), "?v=%C3%A9");
  assert.equal(browser.parse("{a}").ok, true);
  assert.equal(browser.validate({ url: "https://x/", target: "campaigns", event: "create" }).valid, true);
  assert.equal(browser.catalogue().targets.length, 2);
  assert.throws(() => browser.render("{a", {}), browser.TemplateError);
  assert.throws(() => browser.render(1), browser.InputError);
});
