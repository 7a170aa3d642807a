// The package's functions over the wasm exports of the `callout-wasm` crate.
//
// This file checks the types of what callers pass and throws `InputError` for the wrong ones,
// so that nothing malformed reaches wasm. Render values cross as one packed string (the format
// is described in the crate's `src/values.rs`), and results come back as JSON text.

import { Compiled, catalogueJson, parseJson, validateJson } from "./wasm/callout_wasm.js";

let ready = false;

/** Marks the wasm module as instantiated. Called by the entry points, not by users. */
export function markReady() {
  ready = true;
}

function requireReady() {
  if (!ready) {
    throw new Error(
      "@callout/template is not initialized: call `await init()` once before the other functions",
    );
  }
}

/** An error in a template: `errors` lists each problem with its kind and span. */
export class TemplateError extends Error {
  constructor(errors) {
    const first = errors[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    super(`${first.message} (line ${first.line}, column ${first.column})${more}`);
    this.name = "TemplateError";
    this.kind = first.kind;
    this.errors = errors;
  }
}

/** An argument of the wrong type, or a missing one. `path` names it, such as `hook.url`. */
export class InputError extends TypeError {
  constructor(kind, path, message) {
    super(message);
    this.name = "InputError";
    this.kind = kind;
    this.path = path;
  }
}

function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  if (type === "object") {
    const tag = Object.prototype.toString.call(value).slice(8, -1);
    return tag === "Object" ? "an object" : `a ${tag}`;
  }
  if (type === "number") return `the number ${value}`;
  return type === "undefined" ? "undefined" : `a ${type}`;
}

function missing(path, expected) {
  return new InputError("InputMissing", path, `${path} is missing: pass ${expected}`);
}

function typeInvalid(path, value, expected) {
  return new InputError("InputTypeInvalid", path, `${path} is ${describe(value)}: pass ${expected}`);
}

/** Tells whether `value` is a plain object, from any realm: not an array, `Map` or `Date`. */
function isPlainObject(value) {
  return (
    typeof value === "object" &&
    value !== null &&
    Object.prototype.toString.call(value) === "[object Object]"
  );
}

function requireString(value, path, expected = "a string") {
  if (typeof value === "string") return value;
  if (value === undefined) throw missing(path, expected);
  throw typeInvalid(path, value, expected);
}

function requireColumns(agentColumns) {
  if (agentColumns === undefined) return [];
  if (!Array.isArray(agentColumns)) {
    throw typeInvalid("agentColumns", agentColumns, "an array of column names");
  }
  for (let i = 0; i < agentColumns.length; i++) {
    requireString(agentColumns[i], `agentColumns[${i}]`, "a column name as a string");
  }
  return agentColumns;
}

function nameOf(path, key) {
  return `${path}[${JSON.stringify(key)}]`;
}

const VALUE_TYPES = "a string, a number, an array of strings or an object of strings";
const ITEM_TYPES = "a string or a number";

/** Returns the text of a string, number or bigint item; null for any other type. */
function scalarText(value, path) {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
      if (!Number.isFinite(value)) {
        throw new InputError(
          "InputNumberNotFinite",
          path,
          `${path} is ${value}: pass a finite number or a string`,
        );
      }
      return String(value);
    case "bigint":
      return String(value);
    default:
      return null;
  }
}

function packList(list, path) {
  let body = "";
  let count = 0;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (item === undefined || item === null) continue;
    const text = scalarText(item, `${path}[${i}]`);
    if (text === null) throw typeInvalid(`${path}[${i}]`, item, ITEM_TYPES);
    body += text.length + ":" + text;
    count++;
  }
  return "l" + count + ":" + body;
}

function packMap(map, path) {
  let body = "";
  let count = 0;
  for (const key of Object.keys(map)) {
    const item = map[key];
    if (item === undefined || item === null) continue;
    const text = scalarText(item, nameOf(path, key));
    if (text === null) throw typeInvalid(nameOf(path, key), item, ITEM_TYPES);
    body += key.length + ":" + key + text.length + ":" + text;
    count++;
  }
  return "m" + count + ":" + body;
}

/** Packs one value. Null and undefined items of lists and maps are left out, as undefined. */
function packEntry(value, name) {
  if (typeof value === "string") return "s" + value.length + ":" + value;
  if (value === undefined || value === null) return "u";
  const path = nameOf("values", name);
  const text = scalarText(value, path);
  if (text !== null) return "s" + text.length + ":" + text;
  if (Array.isArray(value)) return packList(value, path);
  if (isPlainObject(value)) return packMap(value, path);
  throw typeInvalid(path, value, VALUE_TYPES);
}

function requireValues(values) {
  if (values === undefined) return EMPTY;
  if (!isPlainObject(values)) {
    throw typeInvalid("values", values, "an object whose keys are variable names");
  }
  return values;
}

const EMPTY = Object.freeze(Object.create(null));

/** Packs the values of `names`, in their order, for a compiled template. */
function packSlots(names, values) {
  let packed = "";
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    // Own properties only, so `{constructor}` does not read `Object.prototype.constructor`.
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    packed += packEntry(value, name);
  }
  return packed;
}

function namesOf(compiled) {
  const names = compiled.names();
  return names === "" ? [] : names.split(",");
}

/** Turns what a wasm export threw into a `TemplateError`, or rethrows it as it is. */
function rethrow(thrown) {
  if (typeof thrown !== "string") throw thrown;
  const data = JSON.parse(thrown);
  if (data.errors) throw new TemplateError(data.errors);
  throw new Error(`@callout/template failed inside its wasm module: ${data.internal}`);
}

/** Parses a template into literals and expressions with their spans, or lists its errors. */
export function parse(template) {
  requireReady();
  requireString(template, "template");
  return JSON.parse(parseJson(template));
}

/** Validates a hook and returns every error and warning. */
export function validate(hook, agentColumns) {
  requireReady();
  if (hook === undefined) throw missing("hook", "an object with url, target and event");
  if (typeof hook !== "object" || hook === null || Array.isArray(hook)) {
    throw typeInvalid("hook", hook, "an object with url, target and event");
  }
  const url = requireString(hook.url, "hook.url", "the URL template as a string");
  const target = requireString(hook.target, "hook.target", "a target name such as \"callinglist\"");
  const event = requireString(hook.event, "hook.event", "an event name such as \"import\"");
  const columns = requireColumns(agentColumns);
  return JSON.parse(validateJson(url, target, event, columns));
}

/** Parses and renders a template in one call. Throws `TemplateError` for a broken template. */
export function render(template, values) {
  requireReady();
  requireString(template, "template");
  const checked = requireValues(values);
  let compiled;
  try {
    compiled = new Compiled(template);
  } catch (thrown) {
    rethrow(thrown);
  }
  // Packing only the template's own variables costs less than sending every value.
  try {
    return compiled.renderPacked(packSlots(namesOf(compiled), checked));
  } catch (thrown) {
    rethrow(thrown);
  } finally {
    compiled.free();
  }
}

/** Parses a template once, for any number of renders. */
export function compile(template) {
  return new CompiledTemplate(template);
}

/** Returns the targets, events and tags of a deployment with the given extra agent columns. */
export function catalogue(agentColumns) {
  requireReady();
  return JSON.parse(catalogueJson(requireColumns(agentColumns)));
}

/** A parsed template, kept in wasm memory until `free()` or garbage collection. */
export class CompiledTemplate {
  #compiled;
  #names;
  #source;

  constructor(template) {
    requireReady();
    requireString(template, "template");
    try {
      this.#compiled = new Compiled(template);
    } catch (thrown) {
      rethrow(thrown);
    }
    this.#names = namesOf(this.#compiled);
    this.#source = template;
  }

  /** The template text. */
  get source() {
    return this.#source;
  }

  /** The distinct variable names, in order of first appearance. */
  get variables() {
    return this.#names.slice();
  }

  /** Renders with `values`. Throws `TemplateError` when a value does not fit its variable. */
  render(values) {
    if (this.#compiled === null) {
      throw new Error("this template was freed: compile it again before rendering");
    }
    const packed = packSlots(this.#names, requireValues(values));
    try {
      return this.#compiled.renderPacked(packed);
    } catch (thrown) {
      rethrow(thrown);
    }
  }

  /** Frees the wasm memory now instead of at garbage collection. Later renders throw. */
  free() {
    if (this.#compiled !== null) {
      this.#compiled.free();
      this.#compiled = null;
    }
  }
}
