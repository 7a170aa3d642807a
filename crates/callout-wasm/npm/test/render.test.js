// Rendering through the installed package: percent-encoding, lists and maps, undefined values,
// and template errors as data.

import assert from "node:assert/strict";
import { test } from "node:test";

import { CompiledTemplate, TemplateError, compile, render } from "@callout/template";

const TYPICAL =
  "https://hooks.example.com/callout/import?agent_id={agent.id}&list={calling_list.id}&client={client.name}";

test("render encodes values table", () => {
  const cases = [
    ["https://x/?c={v}", "Müller & Söhne Call Center", "https://x/?c=M%C3%BCller%20%26%20S%C3%B6hne%20Call%20Center"],
    ["https://x/{v}", "a b", "https://x/a%20b"],
    ["https://x/{v}", "a&b=c", "https://x/a%26b%3Dc"],
    ["https://x/{v}", "a/b?c#d", "https://x/a%2Fb%3Fc%23d"],
    ["https://x/{v}", "50% + 1", "https://x/50%25%20%2B%201"],
    ["https://x/{v}", "€", "https://x/%E2%82%AC"],
    ["https://x/{v}", "😀", "https://x/%F0%9F%98%80"],
    ["https://x/{v}", "{agent.id}", "https://x/%7Bagent.id%7D"],
    ["https://x/{v}", "-._~", "https://x/-._~"],
    ["https://x/{v:3}", "Jošé", "https://x/Jo%C5%A1"],
    ["https://x/{v:1}", "😀x", "https://x/%F0%9F%98%80"],
    ["https://x/{+v}", "a/b?c", "https://x/a/b?c"],
    ["https://x/{#v}", "a b#c", "https://x/#a%20b#c"],
    ["https://x/a b/{v}", "1", "https://x/a%20b/1"],
    ["https://x/caf\u00e9/{v}", "1", "https://x/caf%C3%A9/1"],
  ];
  for (const [template, value, expected] of cases) {
    assert.equal(render(template, { v: value }), expected, `template ${template} with ${value}`);
  }
});

test("render typical hook", () => {
  const values = {
    "agent.id": "1207",
    "calling_list.id": 880123,
    "client.name": "Müller & Söhne Call Center",
  };
  assert.equal(
    render(TYPICAL, values),
    "https://hooks.example.com/callout/import?agent_id=1207&list=880123&client=M%C3%BCller%20%26%20S%C3%B6hne%20Call%20Center",
  );
});

test("render composite values", () => {
  const values = {
    list: ["red", "green", "a b"],
    keys: { semi: ";", dot: ".", comma: "," },
    empty: [],
    none: {},
    count: 3,
    big: 12345678901234567890n,
  };
  const cases = [
    ["{list}", "red,green,a%20b"],
    ["{list*}", "red,green,a%20b"],
    ["{?list}", "?list=red,green,a%20b"],
    ["{?list*}", "?list=red&list=green&list=a%20b"],
    ["{/list*}", "/red/green/a%20b"],
    ["{keys}", "semi,%3B,dot,.,comma,%2C"],
    ["{keys*}", "semi=%3B,dot=.,comma=%2C"],
    ["{;keys*}", ";semi=%3B;dot=.;comma=%2C"],
    ["{?empty,none}", ""],
    ["{?count}", "?count=3"],
    ["{big}", "12345678901234567890"],
  ];
  for (const [template, expected] of cases) {
    assert.equal(render(template, values), expected, `template ${template}`);
  }
});

test("render leaves undefined out", () => {
  const values = { a: "1", n: null, u: undefined, list: [null, "x", undefined], map: { k: null } };
  assert.equal(render("https://x/{?a,n,u,missing}", values), "https://x/?a=1");
  assert.equal(render("{list}", values), "x");
  assert.equal(render("{?map}", values), "");
  assert.equal(render("https://x/{a}{b}"), "https://x/");
});

test("render reads own properties only", () => {
  assert.equal(render("x{constructor}{toString}{__proto__}y", {}), "xy");
  const values = Object.create({ inherited: "no" });
  values.own = "yes";
  assert.equal(render("{own}{inherited}", values), "yes");
});

test("render never expands its own output", () => {
  assert.equal(render("{a}", { a: "{b}", b: "x" }), "%7Bb%7D");
});

test("render template errors are data", () => {
  assert.throws(
    () => render("https://x/{agent.id", {}),
    (error) => {
      assert.ok(error instanceof TemplateError);
      assert.ok(error instanceof Error);
      assert.equal(error.name, "TemplateError");
      assert.equal(error.kind, "ExpressionUnclosed");
      assert.equal(error.errors.length, 1);
      const [detail] = error.errors;
      assert.equal(detail.kind, "ExpressionUnclosed");
      assert.equal(detail.field, "url");
      assert.deepEqual([detail.start, detail.end, detail.line, detail.column], [10, 19, 1, 11]);
      assert.match(error.message, /line 1, column 11/);
      return true;
    },
  );
});

test("render reports every error", () => {
  assert.throws(
    () => render("}{a b}{=c}", {}),
    (error) => {
      const kinds = error.errors.map((detail) => detail.kind);
      assert.deepEqual(kinds, ["BraceUnmatched", "VariableNameInvalid", "ExpressionOperatorReserved"]);
      assert.match(error.message, /and 2 more/);
      return true;
    },
  );
});

test("prefix on list is error with span", () => {
  assert.throws(
    () => render("https://é/{list:2}", { list: ["a"] }),
    (error) => {
      assert.equal(error.kind, "ValuePrefixComposite");
      const [detail] = error.errors;
      assert.deepEqual([detail.start, detail.end], [12, 18]);
      assert.deepEqual([detail.utf16Start, detail.utf16End], [11, 17]);
      return true;
    },
  );
});

test("compile renders many times", () => {
  const template = compile(TYPICAL);
  assert.ok(template instanceof CompiledTemplate);
  assert.equal(template.source, TYPICAL);
  assert.deepEqual(template.variables, ["agent.id", "calling_list.id", "client.name"]);
  for (let i = 0; i < 1000; i++) {
    const url = template.render({ "agent.id": i, "calling_list.id": "7", "client.name": "A & B" });
    assert.equal(url, `https://hooks.example.com/callout/import?agent_id=${i}&list=7&client=A%20%26%20B`);
  }
  assert.equal(template.render(), "https://hooks.example.com/callout/import?agent_id=&list=&client=");
});

test("compile matches one-shot render", () => {
  const source = "https://x/{a}{/b*}{?c,a}{&d*}";
  const values = { a: "é", b: ["1", "2"], c: "", d: { k: "v w" } };
  assert.equal(compile(source).render(values), render(source, values));
  assert.equal(new CompiledTemplate(source).render(values), render(source, values));
});

test("compile variables are distinct and a copy", () => {
  const template = compile("{b}{a}{?b,c}");
  const variables = template.variables;
  assert.deepEqual(variables, ["b", "a", "c"]);
  variables.push("changed");
  assert.deepEqual(template.variables, ["b", "a", "c"]);
});

test("compile errors throw TemplateError", () => {
  assert.throws(() => compile("https://x/{a b}"), (error) => {
    assert.ok(error instanceof TemplateError);
    assert.equal(error.kind, "VariableNameInvalid");
    assert.deepEqual([error.errors[0].start, error.errors[0].end], [12, 13]);
    return true;
  });
});

test("compiled prefix on map throws", () => {
  const template = compile("{m:1}");
  assert.throws(() => template.render({ m: { a: "b" } }), { name: "TemplateError", kind: "ValuePrefixComposite" });
  assert.equal(template.render({ m: "xyz" }), "x");
});

test("freed template throws on render", () => {
  const template = compile("{a}");
  template.free();
  template.free();
  assert.throws(() => template.render({ a: "1" }), /freed/);
  assert.equal(compile("{a}").render({ a: "1" }), "1");
});
