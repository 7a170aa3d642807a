// Renders thousands of generated templates with this package and with the `url-template` npm
// package, and requires the same URL wherever url-template follows RFC 6570. Where it does
// not, the case must match an entry of KNOWN_DIFFERENCES. That entry's `adjust` rewrites the
// input into one with the same RFC 6570 expansion, which url-template does handle, and
// url-template's output on it must equal this package's output on the original input.

import assert from "node:assert/strict";
import { test } from "node:test";

import { render } from "@callout/template";
import { parseTemplate } from "url-template";

const SEED = 0x5eed6570;
const CASES = 3000;

/** A xorshift32 generator: the same seed gives the same cases on every run. */
function randomSource(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

const LITERAL_PIECES = [
  "https://x.example/", "a", "path/", "?", "&", "=", "k=", "-._~", "é", " ", "%20", "[1]",
  "!$'()*+,;:@", "#", "😀", "\"", "<|>", "^", "ß",
];
const NAMES = ["a", "b", "agent.id", "client.name", "list", "keys", "x_1", "Z9"];
const OPERATORS = ["", "+", "#", ".", "/", ";", "?", "&"];
const VALUE_PIECES = [
  "a", "Z", "0", "-", ".", "_", "~", " ", "&", "=", "/", "?", "#", "+", "%", "%41", "%A", "%zz",
  ":", "@", "!", "$", "'", "(", ")", "*", ",", ";", "[", "]", "\"", "<", "{", "}", "é", "ü", "€",
  "😀", "\u00a0",
];
// Map keys contain no reserved characters and no `%`. RFC 6570 does not say whether `+` and
// `#` expressions copy reserved characters of keys as they do those of values. This engine
// copies them and url-template encodes them, so such keys would test a choice, not the RFC.
const KEY_PIECES = ["k", "Q", "1", "-", "_", "~", ".", " ", "é", "ß", "😀"];

const NAMED = new Set([";", "?", "&"]);
const RESERVED = new Set(["+", "#"]);
const SENTINEL = "Q0empty0Q";
const LONE_PERCENT = /%(?![0-9A-Fa-f]{2})/;
const LONE_PERCENT_ALL = /%(?![0-9A-Fa-f]{2})/g;

function pick(random, list) {
  return list[Math.floor(random() * list.length)];
}

function text(random, pieces, maxPieces) {
  let result = "";
  const count = Math.floor(random() * (maxPieces + 1));
  for (let i = 0; i < count; i++) result += pick(random, pieces);
  return result;
}

function generateModifier(random) {
  const roll = random();
  if (roll < 0.6) return { type: "none" };
  if (roll < 0.8) return { type: "explode" };
  return { type: "prefix", length: 1 + Math.floor(random() * 12) };
}

/** Returns a shuffled copy of `list` (Fisher and Yates). */
function shuffle(random, list) {
  const copy = [...list];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function generateExpression(random) {
  // Names do not repeat within an expression, so each adjustment below changes one variable.
  const names = shuffle(random, NAMES).slice(0, 1 + Math.floor(random() * 3));
  const variables = names.map((name) => ({ name, modifier: generateModifier(random) }));
  return { operator: pick(random, OPERATORS), variables };
}

function generateTemplate(random) {
  const parts = [];
  const count = 1 + Math.floor(random() * 4);
  for (let i = 0; i < count; i++) {
    if (random() < 0.4) {
      const literal = text(random, LITERAL_PIECES, 3);
      if (literal !== "") parts.push({ literal });
    } else {
      parts.push(generateExpression(random));
    }
  }
  return parts;
}

function generateValue(random) {
  const roll = random();
  if (roll < 0.1) return undefined;
  if (roll < 0.18) return "";
  if (roll < 0.6) return text(random, VALUE_PIECES, 8);
  if (roll < 0.65) return Math.floor(random() * 100000) / (random() < 0.5 ? 1 : 100);
  const size = Math.floor(random() * 4);
  if (roll < 0.82) {
    return Array.from({ length: size }, () => text(random, VALUE_PIECES, 3));
  }
  const map = {};
  for (let i = 0; i < size; i++) {
    map[text(random, KEY_PIECES, 3) || "k"] = text(random, VALUE_PIECES, 3);
  }
  return map;
}

function generateValues(random) {
  const values = {};
  for (const name of NAMES) values[name] = generateValue(random);
  return values;
}

function modifierText(modifier) {
  if (modifier.type === "explode") return "*";
  if (modifier.type === "prefix") return `:${modifier.length}`;
  return "";
}

function expressionText(expression) {
  const variables = expression.variables.map((v) => v.name + modifierText(v.modifier));
  return `{${expression.operator}${variables.join(",")}}`;
}

function templateText(parts) {
  return parts.map((part) => ("literal" in part ? part.literal : expressionText(part))).join("");
}

function isComposite(value) {
  return typeof value === "object" && value !== null;
}

function isEmptyComposite(value) {
  return isComposite(value) && Object.keys(value).length === 0;
}

function loneCodePoints(value, length) {
  return [...value].slice(0, length).join("");
}

/** Returns a string value cut to its prefix modifier, in characters; other values as given. */
function prefixed(value, modifier) {
  if (modifier.type !== "prefix" || typeof value !== "string") return value;
  return loneCodePoints(value, modifier.length);
}

/** Returns the strings inside a value: itself, its items, or its keys and values. */
function stringsOf(value) {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value;
  if (isComposite(value)) return Object.entries(value).flat();
  return [];
}

/** Returns a copy of `values` with `change` applied to the value of each listed variable. */
function changeValues(values, variables, change) {
  const changed = { ...values };
  for (const variable of variables) changed[variable.name] = change(values[variable.name], variable);
  return changed;
}

/** Returns a rendering as a string, or the name of the error it threw. */
function outcome(call) {
  try {
    return call();
  } catch (error) {
    return `throws ${error.name}`;
  }
}

function urlTemplate(text, values) {
  return outcome(() => parseTemplate(text).expand(values));
}

const KNOWN_DIFFERENCES = [
  {
    name: "empty list or map in a named expression",
    reason:
      "RFC 6570 section 2.3 makes an empty list or map undefined, so `{?list}` with [] expands " +
      "to nothing; url-template writes `?list=`",
    applies: (expression, values) =>
      NAMED.has(expression.operator) &&
      expression.variables.some(
        (v) => v.modifier.type !== "explode" && isEmptyComposite(values[v.name]),
      ),
    adjust: (expression, values) => ({
      expression,
      values: changeValues(values, expression.variables, (value) =>
        isEmptyComposite(value) ? undefined : value,
      ),
    }),
  },
  {
    name: "lone percent sign in reserved expansion",
    reason:
      "RFC 6570 section 3.2.3 copies only pct-encoded triplets and encodes any other `%`; " +
      "url-template copies a whole run unencoded when it holds `%` and one hex digit, as in " +
      "`%A b`",
    applies: (expression, values) =>
      RESERVED.has(expression.operator) &&
      expression.variables.some((v) =>
        stringsOf(prefixed(values[v.name], v.modifier)).some((s) => LONE_PERCENT.test(String(s))),
      ),
    // `%25` is how reserved expansion writes a lone `%`, so writing it beforehand is the same
    // expansion. A prefix is applied first, because it counts the characters of the value as
    // given and can itself leave a lone `%`, as `{+v:2}` does with `%41`.
    adjust: (expression, values) => {
      const fix = (s) => (typeof s === "string" ? s.replace(LONE_PERCENT_ALL, "%25") : s);
      const changed = { ...values };
      const variables = expression.variables.map((v) => {
        const value = prefixed(values[v.name], v.modifier);
        if (typeof value === "string") changed[v.name] = fix(value);
        else if (Array.isArray(value)) changed[v.name] = value.map(fix);
        else if (isComposite(value)) {
          changed[v.name] = Object.fromEntries(Object.entries(value).map(([k, s]) => [k, fix(s)]));
        }
        const cut = v.modifier.type === "prefix" && typeof values[v.name] === "string";
        return cut ? { name: v.name, modifier: { type: "none" } } : v;
      });
      return { expression: { operator: expression.operator, variables }, values: changed };
    },
  },
  {
    name: "prefix counts characters",
    reason:
      "RFC 6570 section 2.4.1 counts a prefix in characters; url-template counts UTF-16 code " +
      "units, so it cuts an emoji in half and its encodeURIComponent throws URIError",
    applies: (expression, values) =>
      expression.variables.some((v) => {
        const value = values[v.name];
        if (v.modifier.type !== "prefix" || typeof value !== "string") return false;
        return loneCodePoints(value, v.modifier.length) !== value.slice(0, v.modifier.length);
      }),
    // Cutting the value to the prefix beforehand and dropping the modifier is the same
    // expansion.
    adjust: (expression, values) => {
      const cut = expression.variables.filter(
        (v) => v.modifier.type === "prefix" && typeof values[v.name] === "string",
      );
      return {
        expression: {
          operator: expression.operator,
          variables: expression.variables.map((v) =>
            cut.includes(v) ? { name: v.name, modifier: { type: "none" } } : v,
          ),
        },
        values: changeValues(values, cut, (value, v) => loneCodePoints(value, v.modifier.length)),
      };
    },
  },
  {
    name: "empty item in an exploded `;` expression",
    reason:
      "RFC 6570 appendix A writes only the name for an empty item of an exploded `;` " +
      "expression (`;list`), as its `ifemp` is empty; url-template writes `;list=`",
    applies: (expression, values) =>
      expression.operator === ";" &&
      expression.variables.some(
        (v) =>
          v.modifier.type === "explode" &&
          isComposite(values[v.name]) &&
          Object.values(values[v.name]).includes(""),
      ),
    // Empty items become a marker, and `=marker` in url-template's output becomes nothing.
    adjust: (expression, values) => {
      const exploded = expression.variables.filter((v) => v.modifier.type === "explode");
      return {
        expression,
        values: changeValues(values, exploded, (value) => {
          if (Array.isArray(value)) return value.map((item) => item || SENTINEL);
          if (isComposite(value)) {
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v || SENTINEL]));
          }
          return value;
        }),
        output: (rendered) => rendered.replaceAll(`=${SENTINEL}`, ""),
      };
    },
  },
];

/** Prefixes on lists and maps: this engine rejects them, url-template ignores them. */
const PREFIX_ON_COMPOSITE = {
  name: "prefix on a list or map",
  reason:
    "RFC 6570 section 2.4.1 says prefix modifiers do not apply to lists and maps; this engine " +
    "rejects the template with ValuePrefixComposite, url-template ignores the prefix",
  applies: (expression, values) =>
    expression.variables.some(
      (v) =>
        v.modifier.type === "prefix" &&
        isComposite(values[v.name]) &&
        !isEmptyComposite(values[v.name]),
    ),
};

function describeCase(text, values) {
  return `template ${JSON.stringify(text)} with values ${JSON.stringify(values)}`;
}

/**
 * Compares one expression rendered alone, and returns the names of the known differences
 * that it showed.
 */
function compareExpression(expression, values) {
  const text = expressionText(expression);
  const ours = outcome(() => render(text, values));
  const theirs = urlTemplate(text, values);

  if (PREFIX_ON_COMPOSITE.applies(expression, values)) {
    assert.equal(ours, "throws TemplateError", describeCase(text, values));
    assert.throws(() => render(text, values), { kind: "ValuePrefixComposite" });
    // url-template renders as if the prefixes were not there.
    const withoutPrefix = {
      operator: expression.operator,
      variables: expression.variables.map((v) =>
        v.modifier.type === "prefix" && isComposite(values[v.name])
          ? { name: v.name, modifier: { type: "none" } }
          : v,
      ),
    };
    assert.equal(theirs, urlTemplate(expressionText(withoutPrefix), values), describeCase(text, values));
    return [PREFIX_ON_COMPOSITE.name];
  }
  assert.equal(typeof ours, "string", `${describeCase(text, values)}: ${ours}`);
  if (ours === theirs) return [];

  const applying = KNOWN_DIFFERENCES.filter((difference) => difference.applies(expression, values));
  assert.ok(
    applying.length > 0,
    `${describeCase(text, values)}: this package gives ${ours}, url-template ${theirs}, and no known difference explains it`,
  );
  let adjusted = { expression, values };
  const outputs = [];
  for (const difference of applying) {
    const next = difference.adjust(adjusted.expression, adjusted.values);
    adjusted = next;
    if (next.output) outputs.push(next.output);
  }
  let expected = urlTemplate(expressionText(adjusted.expression), adjusted.values);
  for (const output of outputs) expected = output(expected);
  assert.equal(
    ours,
    expected,
    `${describeCase(text, values)}: differs from url-template (${theirs}) by more than ${applying.map((d) => d.name).join(", ")}`,
  );
  return applying.map((difference) => difference.name);
}

test("render matches url-template on generated templates", () => {
  const random = randomSource(SEED);
  const seen = new Map([PREFIX_ON_COMPOSITE, ...KNOWN_DIFFERENCES].map((d) => [d.name, 0]));
  let identical = 0;

  for (let i = 0; i < CASES; i++) {
    const parts = generateTemplate(random);
    const values = generateValues(random);
    const text = templateText(parts);

    const pieces = [];
    const differences = [];
    for (const part of parts) {
      if ("literal" in part) {
        const literal = render(part.literal, {});
        assert.equal(literal, urlTemplate(part.literal, {}), `literal ${JSON.stringify(part.literal)}`);
        pieces.push(literal);
      } else {
        differences.push(...compareExpression(part, values));
        pieces.push(outcome(() => render(expressionText(part), values)));
      }
    }
    for (const name of differences) seen.set(name, seen.get(name) + 1);

    const ours = outcome(() => render(text, values));
    if (differences.length === 0) {
      assert.equal(ours, urlTemplate(text, values), describeCase(text, values));
      identical++;
    } else if (differences.includes(PREFIX_ON_COMPOSITE.name)) {
      assert.equal(ours, "throws TemplateError", describeCase(text, values));
    } else {
      // The whole template is its parts side by side, each checked above.
      assert.equal(ours, pieces.join(""), describeCase(text, values));
    }
  }

  // Every known difference must have shown up, or its entry is stale or the generator has
  // stopped producing the inputs that show it.
  for (const [name, count] of seen) {
    assert.ok(count > 0, `known difference "${name}" never showed up in ${CASES} cases`);
  }
  assert.ok(identical > CASES * 0.5, `only ${identical} of ${CASES} templates rendered identically`);
  const counts = [...seen].map(([name, count]) => `${name}: ${count}`).join("; ");
  console.log(`${identical} of ${CASES} templates identical to url-template; differences seen: ${counts}`);
});

test("known differences by example", () => {
  // One hand-written case per entry, so each reason reads next to its effect.
  const examples = [
    ["{?list}", { list: [] }, "", "?list="],
    ["{+v}", { v: "%A b" }, "%25A%20b", "%A b"],
    ["{v:1}", { v: "😀x" }, "%F0%9F%98%80", "throws URIError"],
    ["{;list*}", { list: ["", "a"] }, ";list;list=a", ";list=;list=a"],
    ["{list:1}", { list: ["abc"] }, "throws TemplateError", "abc"],
  ];
  for (const [text, values, ours, theirs] of examples) {
    assert.equal(outcome(() => render(text, values)), ours, text);
    assert.equal(urlTemplate(text, values), theirs, text);
  }
  assert.equal(examples.length, KNOWN_DIFFERENCES.length + 1);
});
