// Arguments of the wrong type, missing ones and huge ones: each gives a typed error or a
// result, never a crash, and the module keeps working afterwards.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  InputError,
  TemplateError,
  catalogue,
  compile,
  parse,
  render,
  validate,
} from "@callout/template";

const MEGABYTE = 1024 * 1024;

function assertInputError(call, kind, path) {
  assert.throws(call, (error) => {
    assert.ok(error instanceof InputError, `${path}: ${error}`);
    assert.ok(error instanceof TypeError);
    assert.equal(error.name, "InputError");
    assert.equal(error.kind, kind, path);
    assert.equal(error.path, path);
    assert.ok(error.message.startsWith(path), error.message);
    assert.match(error.message, /: pass /, error.message);
    return true;
  });
}

test("template argument types", () => {
  const calls = {
    parse: (value) => parse(value),
    render: (value) => render(value, {}),
    compile: (value) => compile(value),
  };
  for (const call of Object.values(calls)) {
    assertInputError(() => call(undefined), "InputMissing", "template");
    for (const wrong of [null, 42, {}, ["{a}"], true, Symbol("t"), () => "{a}"]) {
      assertInputError(() => call(wrong), "InputTypeInvalid", "template");
    }
  }
});

test("values argument types", () => {
  const template = compile("{a}");
  for (const wrong of [null, "a=1", 1, ["1"], new Map([["a", "1"]]), new Date(0)]) {
    assertInputError(() => render("{a}", wrong), "InputTypeInvalid", "values");
    assertInputError(() => template.render(wrong), "InputTypeInvalid", "values");
  }
});

test("value types", () => {
  const cases = [
    [{ a: true }, "InputTypeInvalid", 'values["a"]'],
    [{ a: Symbol("s") }, "InputTypeInvalid", 'values["a"]'],
    [{ a: () => 1 }, "InputTypeInvalid", 'values["a"]'],
    [{ a: new Date(0) }, "InputTypeInvalid", 'values["a"]'],
    [{ a: NaN }, "InputNumberNotFinite", 'values["a"]'],
    [{ a: Infinity }, "InputNumberNotFinite", 'values["a"]'],
    [{ a: ["x", ["nested"]] }, "InputTypeInvalid", 'values["a"][1]'],
    [{ a: ["x", { k: "v" }] }, "InputTypeInvalid", 'values["a"][1]'],
    [{ a: ["x", false] }, "InputTypeInvalid", 'values["a"][1]'],
    [{ a: { k: ["v"] } }, "InputTypeInvalid", 'values["a"]["k"]'],
    [{ a: { k: -Infinity } }, "InputNumberNotFinite", 'values["a"]["k"]'],
  ];
  for (const [values, kind, path] of cases) {
    assertInputError(() => render("{a}", values), kind, path);
    assertInputError(() => compile("{a}").render(values), kind, path);
  }
});

test("render reads only its variables", () => {
  const values = { a: "1", unused: true, other: () => 1 };
  assert.equal(render("{a}", values), "1");
  assert.equal(compile("{a}").render(values), "1");
  assertInputError(() => render("{a}{unused}", values), "InputTypeInvalid", 'values["unused"]');
});

test("template error comes before value errors", () => {
  assert.throws(() => render("{a", { a: true }), TemplateError);
});

test("hook argument types", () => {
  assertInputError(() => validate(), "InputMissing", "hook");
  assertInputError(() => validate(null), "InputTypeInvalid", "hook");
  assertInputError(() => validate("https://x/"), "InputTypeInvalid", "hook");
  assertInputError(() => validate([]), "InputTypeInvalid", "hook");
  assertInputError(() => validate({ target: "campaigns", event: "create" }), "InputMissing", "hook.url");
  assertInputError(() => validate({ url: "https://x/", event: "create" }), "InputMissing", "hook.target");
  assertInputError(() => validate({ url: "https://x/", target: "campaigns" }), "InputMissing", "hook.event");
  assertInputError(
    () => validate({ url: 1, target: "campaigns", event: "create" }),
    "InputTypeInvalid",
    "hook.url",
  );
  assertInputError(
    () => validate({ url: "https://x/", target: null, event: "create" }),
    "InputTypeInvalid",
    "hook.target",
  );
});

test("agent columns argument types", () => {
  const hook = { url: "https://x/", target: "campaigns", event: "create" };
  assertInputError(() => validate(hook, "team"), "InputTypeInvalid", "agentColumns");
  assertInputError(() => validate(hook, ["team", 3]), "InputTypeInvalid", "agentColumns[1]");
  assertInputError(() => catalogue("team"), "InputTypeInvalid", "agentColumns");
  assertInputError(() => catalogue([null]), "InputTypeInvalid", "agentColumns[0]");
});

test("megabyte template renders", () => {
  const literal = "a".repeat(MEGABYTE);
  const source = `https://x/${literal}{?v}`;
  assert.equal(render(source, { v: "1" }), `https://x/${literal}?v=1`);
  assert.equal(compile(source).render({}), `https://x/${literal}`);
});

test("megabyte value renders", () => {
  const value = "é&".repeat(MEGABYTE / 2);
  const url = render("https://x/?v={v}", { v: value });
  assert.equal(url.length, "https://x/?v=".length + (MEGABYTE / 2) * 9);
  assert.ok(url.endsWith("%C3%A9%26"));
  assert.equal(compile("{v}").render({ v: value }), url.slice("https://x/?v=".length));
});

test("megabyte of braces gives capped errors", () => {
  const source = "{".repeat(MEGABYTE);
  const result = parse(source);
  assert.equal(result.ok, false);
  assert.equal(result.errors.length, 100);
  assert.ok(result.errors.every((error) => error.kind === "ExpressionUnclosed"));
  assert.throws(() => render(source, {}), TemplateError);
  assert.throws(() => compile(source), TemplateError);
});

test("megabyte hook validates", () => {
  // 64 literals of 16 KiB, each with a warning. The engine computes each warning's line and
  // column from the start of the URL, so thousands of warnings in one URL take seconds.
  const chunk = "é".repeat(8 * 1024);
  const url = `https://x/${`${chunk}{agent.id}`.repeat(64)}`;
  assert.ok(Buffer.byteLength(url) > MEGABYTE);
  const report = validate({ url, target: "campaigns", event: "create" });
  assert.equal(report.valid, true);
  assert.equal(report.warnings.length, 64);
  assert.ok(report.warnings.every((warning) => warning.kind === "LiteralEncoded"));
  const last = report.warnings.at(-1);
  assert.equal(url.slice(last.utf16Start, last.utf16End), chunk);
  assert.equal(last.replacement, "%C3%A9".repeat(8 * 1024));

  const broken = validate({ url: `${url}{`, target: "x".repeat(MEGABYTE), event: "" });
  assert.equal(broken.valid, false);
  assert.deepEqual(broken.errors.map((error) => error.kind), ["TargetUnknown", "EventUnknown", "ExpressionUnclosed"]);
});

test("megabyte parse keeps every part", () => {
  const source = "{a}é".repeat(MEGABYTE / 8);
  const { ok, parts } = parse(source);
  assert.equal(ok, true);
  assert.equal(parts.length, MEGABYTE / 4);
  const last = parts.at(-1);
  assert.equal(source.slice(last.utf16Start, last.utf16End), "é");
  assert.equal(last.end, Buffer.byteLength(source));
});

test("lone surrogates are sent as U+FFFD", () => {
  // JavaScript strings may hold unpaired surrogates, which UTF-8 cannot encode; they cross
  // into wasm as U+FFFD, as TextEncoder writes them.
  assert.equal(render("{v}", { v: "a\ud800b" }), "a%EF%BF%BDb");
  assert.equal(render("{v:2}", { v: "\udc00bc" }), "%EF%BF%BDb");
  assert.equal(parse("\ud800{a}").parts[1].utf16Start, 1);
});

test("module works after errors", () => {
  assert.throws(() => render("{a", {}));
  assert.throws(() => render("{a}", { a: true }));
  assert.throws(() => compile("{a:1}").render({ a: ["x"] }));
  assert.equal(render("https://x/{a}", { a: "ok" }), "https://x/ok");
});
