// Hook validation: errors by field with spans, warnings with replacements, agent columns.

import assert from "node:assert/strict";
import { test } from "node:test";

import { validate } from "@callout/template";

function kinds(report) {
  return report.errors.map((error) => [error.kind, error.field, error.start, error.end]);
}

test("validate valid hooks table", () => {
  const cases = [
    ["https://example.com/?agent_id={agent.id}&calling_list_id={calling_list.id}", "callinglist", "import"],
    ["https://example.com/{calling_list.id}", "callinglist", "delete"],
    ["https://example.com/c/{campaign.id}{?campaign.copy_of}", "campaigns", "create"],
    ["https://hooks.example.com/callout?client={client.name}&lang={agent.lang}", "campaigns", "delete"],
  ];
  for (const [url, target, event] of cases) {
    const report = validate({ url, target, event });
    assert.equal(report.valid, true, url);
    assert.deepEqual(report.errors, [], url);
  }
});

test("validate invalid hooks table", () => {
  const cases = [
    ["https://x/", "lists", "import", [["TargetUnknown", "target", 0, 5]]],
    ["https://x/", "callinglist", "create", [["EventUnknown", "event", 0, 6]]],
    ["https://x/{agent.nosuch}", "callinglist", "add", [["TagUnknown", "url", 11, 23]]],
    ["https://x/{campaign.id}", "callinglist", "add", [["TagUnavailable", "url", 11, 22]]],
    ["https://x/{agent.id", "callinglist", "add", [["ExpressionUnclosed", "url", 10, 19]]],
    ["ftp://x/{agent.id}", "callinglist", "add", [["UrlSchemeInvalid", "url", 0, 3]]],
    ["https://{client.name}/", "callinglist", "add", [["UrlHostMissing", "url", 8, 21]]],
    ["https://x/{+agent.name}", "callinglist", "add", [["ExpressionOperatorUnsafe", "url", 11, 12]]],
    [
      "https://x/{agent.nosuch}/{campaign.id}/{",
      "nosuch",
      "add",
      [
        ["TargetUnknown", "target", 0, 6],
        ["TagUnknown", "url", 11, 23],
        ["ExpressionUnclosed", "url", 39, 40],
      ],
    ],
  ];
  for (const [url, target, event, expected] of cases) {
    const report = validate({ url, target, event });
    assert.equal(report.valid, false, url);
    assert.deepEqual(kinds(report), expected, url);
  }
});

test("validate error carries every field", () => {
  const [error] = validate({ url: "https://x/\n{agent.nosuch}", target: "campaigns", event: "create" }).errors;
  assert.deepEqual(Object.keys(error).sort(), [
    "column", "end", "field", "kind", "line", "message", "start", "utf16End", "utf16Start",
  ]);
  assert.equal(error.message, "unknown tag `agent.nosuch`");
  assert.deepEqual([error.line, error.column], [2, 2]);
});

test("validate offsets of non-ASCII target", () => {
  const target = "caméra";
  const [error] = validate({ url: "https://x/", target, event: "add" }).errors;
  assert.equal(error.kind, "TargetUnknown");
  assert.deepEqual([error.start, error.end, error.utf16Start, error.utf16End], [0, 7, 0, 6]);
  assert.equal(target.slice(error.utf16Start, error.utf16End), target);
});

test("validate warnings table", () => {
  const cases = [
    ["https://x/{agent.id}", []],
    ["http://x/{agent.id}", ["UrlInsecure"]],
    ["https://x/a b/{agent.id}", ["LiteralEncoded"]],
    ["https://{client.name}.x.com/", ["TagInHost"]],
    ["https://x/?copy={campaign.copy_of}", ["TagMayBeEmpty"]],
    ["https://x/?a=1&b={agent.id}&a=2", ["QueryKeyRepeated"]],
  ];
  for (const [url, expected] of cases) {
    const report = validate({ url, target: "campaigns", event: "create" });
    assert.equal(report.valid, true, url);
    assert.deepEqual(report.warnings.map((warning) => warning.kind), expected, url);
  }
});

test("validate warning gives replacement", () => {
  const url = "https://x/é b/{agent.id}";
  const [warning] = validate({ url, target: "campaigns", event: "create" }).warnings;
  assert.equal(warning.kind, "LiteralEncoded");
  assert.equal(warning.replacement, "https://x/%C3%A9%20b/");
  assert.equal(url.slice(warning.utf16Start, warning.utf16End), "https://x/é b/");
  assert.deepEqual([warning.start, warning.end], [0, 15]);
  assert.equal("field" in warning, false);

  const [insecure] = validate({ url: "http://x/", target: "campaigns", event: "create" }).warnings;
  assert.equal(insecure.replacement, null);
});

test("validate agent columns add tags", () => {
  const hook = { url: "https://x/?team={agent.team}", target: "callinglist", event: "import" };
  assert.deepEqual(kinds(validate(hook)), [["TagUnknown", "url", 17, 27]]);
  assert.equal(validate(hook, ["team"]).valid, true);
  assert.equal(validate(hook, []).valid, false);
});

test("validate ignores extra hook properties", () => {
  const hook = { url: "https://x/", target: "campaigns", event: "create", enabled: false, id: 3 };
  assert.equal(validate(hook).valid, true);
});
