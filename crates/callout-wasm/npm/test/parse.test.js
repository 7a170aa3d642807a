// Parsing for editors and highlighters: parts, operators, modifiers and spans.

import assert from "node:assert/strict";
import { test } from "node:test";

import { parse } from "@callout/template";

test("parse splits literals and expressions", () => {
  const source = "https://x/?a={agent.id}{&b,c:3,d*}";
  const result = parse(source);
  assert.equal(result.ok, true);
  const [literal, simple, query] = result.parts;
  assert.equal(result.parts.length, 3);

  assert.equal(literal.type, "literal");
  assert.equal(literal.encoded, "https://x/?a=");
  assert.deepEqual([literal.start, literal.end], [0, 13]);

  assert.equal(simple.type, "expression");
  assert.equal(simple.operator, "");
  assert.equal(source.slice(simple.utf16Start, simple.utf16End), "{agent.id}");
  assert.deepEqual(simple.variables.map((v) => v.name), ["agent.id"]);

  assert.equal(query.operator, "&");
  assert.deepEqual(
    query.variables.map((v) => [v.name, v.modifier, source.slice(v.utf16Start, v.utf16End)]),
    [
      ["b", { type: "none" }, "b"],
      ["c", { type: "prefix", length: 3 }, "c:3"],
      ["d", { type: "explode" }, "d*"],
    ],
  );
});

test("parse operators table", () => {
  const operators = ["", "+", "#", ".", "/", ";", "?", "&"];
  for (const operator of operators) {
    const result = parse(`{${operator}x}`);
    assert.equal(result.ok, true, `operator ${operator}`);
    assert.equal(result.parts[0].operator, operator);
  }
});

test("parse offsets count bytes and UTF-16", () => {
  // "é" is 2 bytes and 1 code unit, "😀" is 4 bytes and 2 code units.
  const source = "é😀/{a}";
  const { parts } = parse(source);
  const expression = parts[1];
  assert.deepEqual([expression.start, expression.end], [7, 10]);
  assert.deepEqual([expression.utf16Start, expression.utf16End], [4, 7]);
  assert.equal(source.slice(expression.utf16Start, expression.utf16End), "{a}");
  assert.equal(parts[0].encoded, "%C3%A9%F0%9F%98%80/");
});

test("parse errors table", () => {
  const cases = [
    ["http://x/{agent.id", "ExpressionUnclosed", 9, 18],
    ["http://x/a}", "BraceUnmatched", 10, 11],
    ["{}", "ExpressionEmpty", 0, 2],
    ["{=path}", "ExpressionOperatorReserved", 1, 2],
    ["{with space}", "VariableNameInvalid", 5, 6],
    ["{var:0}", "VariableModifierInvalid", 4, 6],
    ["100%", "LiteralPercentInvalid", 3, 4],
  ];
  for (const [source, kind, start, end] of cases) {
    const result = parse(source);
    assert.equal(result.ok, false, source);
    assert.equal(result.errors.length, 1, source);
    const [error] = result.errors;
    assert.deepEqual([error.kind, error.start, error.end], [kind, start, end], source);
    assert.equal(error.field, "url");
    assert.equal(typeof error.message, "string");
    assert.doesNotMatch(error.message, /^[A-Z]|\.$/, "messages are lowercase without a period");
  }
});

test("parse error line and column", () => {
  const source = "https://x/\n  é{a b}";
  const { errors } = parse(source);
  assert.equal(errors[0].kind, "VariableNameInvalid");
  assert.deepEqual([errors[0].line, errors[0].column], [2, 6]);
  assert.equal(source.slice(errors[0].utf16Start, errors[0].utf16End), " ");
});

test("parse empty template", () => {
  assert.deepEqual(parse(""), { ok: true, parts: [] });
});
