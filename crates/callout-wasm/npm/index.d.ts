// Types of @callout/template, written by hand to match what the functions return.

/** The kind of an error in a template or a hook. Names start with the subject. */
export type ErrorKind =
  | "BraceUnmatched"
  | "ExpressionEmpty"
  | "ExpressionUnclosed"
  | "ExpressionOperatorReserved"
  | "ExpressionOperatorUnsafe"
  | "LiteralPercentInvalid"
  | "EventUnknown"
  | "TagUnknown"
  | "TagUnavailable"
  | "TargetUnknown"
  | "UrlHostInvalid"
  | "UrlHostMissing"
  | "UrlPortInvalid"
  | "UrlSchemeInvalid"
  | "VariableNameInvalid"
  | "VariableModifierInvalid"
  | "ValuePrefixComposite";

/** The kind of a warning: a risk in a hook that is nevertheless valid. */
export type WarningKind =
  | "LiteralEncoded"
  | "TagInHost"
  | "QueryKeyRepeated"
  | "TagMayBeEmpty"
  | "UrlInsecure";

/** The input of a hook that an error points into. Errors of a lone template point into `url`. */
export type Field = "url" | "target" | "event";

/**
 * A range of text. `start` and `end` are UTF-8 byte offsets, as the server's API reports them;
 * `utf16Start` and `utf16End` are UTF-16 code unit offsets, for `String.prototype.slice` and
 * editors. Both pairs are equal for ASCII text.
 */
export interface Span {
  readonly start: number;
  readonly end: number;
  readonly utf16Start: number;
  readonly utf16End: number;
}

/** An error with its place. `line` and `column` count from 1, columns in characters. */
export interface ErrorDetail extends Span {
  readonly kind: ErrorKind;
  /** A lowercase sentence for a person, without a final period. */
  readonly message: string;
  readonly field: Field;
  readonly line: number;
  readonly column: number;
}

/** A warning with its place, in the text of the URL. */
export interface WarningDetail extends Span {
  readonly kind: WarningKind;
  /** A lowercase sentence for a person, without a final period. */
  readonly message: string;
  readonly line: number;
  readonly column: number;
  /** Text to put in place of the span, where the fix is known. */
  readonly replacement: string | null;
}

/** An expression operator of RFC 6570, or `""` for simple expansion. */
export type Operator = "" | "+" | "#" | "." | "/" | ";" | "?" | "&";

/** A value modifier of RFC 6570: none, a prefix `:length`, or explode `*`. */
export type Modifier =
  | { readonly type: "none" }
  | { readonly type: "prefix"; readonly length: number }
  | { readonly type: "explode" };

/** A variable of an expression; the span covers its name and modifier. */
export interface VariableSpec extends Span {
  /** The name as written, such as `agent.id`. */
  readonly name: string;
  readonly modifier: Modifier;
}

/** Text outside braces. */
export interface LiteralPart extends Span {
  readonly type: "literal";
  /** The text as it is sent: percent-encoded where RFC 6570 requires it. */
  readonly encoded: string;
}

/** An expression; the span covers both braces. */
export interface ExpressionPart extends Span {
  readonly type: "expression";
  readonly operator: Operator;
  /** At least one variable. */
  readonly variables: readonly VariableSpec[];
}

/** A piece of a template, in the order of the text. */
export type Part = LiteralPart | ExpressionPart;

/** The result of `parse`: the parts, or every error found (at most 100). */
export type ParseResult =
  | { readonly ok: true; readonly parts: readonly Part[] }
  | { readonly ok: false; readonly errors: readonly ErrorDetail[] };

/** A hook as a person enters it. */
export interface Hook {
  /** The URL template, such as `https://example.com/?list={calling_list.id}`. */
  readonly url: string;
  /** A target name: `"callinglist"` or `"campaigns"`; others are reported as errors. */
  readonly target: string;
  /** An event name of the target, such as `"import"`; others are reported as errors. */
  readonly event: string;
}

/** The result of `validate`. A hook with errors is rejected, but warnings do not stop it. */
export interface ValidationResult {
  readonly valid: boolean;
  /** Errors of `target` and `event` first, then those of `url` in the order of the text. */
  readonly errors: readonly ErrorDetail[];
  /** In the order of the text. */
  readonly warnings: readonly WarningDetail[];
}

/** A target that hooks can watch. */
export type TargetName = "callinglist" | "campaigns";

/** An event of a target. */
export type EventName = "import" | "add" | "delete" | "create";

/** A target with its events, as `GET /api/catalogue` lists it. */
export interface TargetInfo {
  readonly name: TargetName;
  readonly description: string;
  readonly events: readonly EventName[];
}

/** The hooks that have a tag: every hook, or those of one target and some of its events. */
export type TagScope =
  | "every"
  | { readonly target: { readonly target: TargetName; readonly events: readonly EventName[] } };

/** A tag that a hook URL can contain, such as `{agent.id}`. */
export interface Tag {
  /** The name between the braces. */
  readonly name: string;
  readonly description: string;
  readonly scope: TagScope;
  /** Whether the value can be undefined, which a simple expansion renders as nothing. */
  readonly optional: boolean;
}

/** The catalogue of a deployment, in the shape of the server's `GET /api/catalogue`. */
export interface Catalogue {
  readonly targets: readonly TargetInfo[];
  readonly tags: readonly Tag[];
  /** The extra agent columns, without duplicates and built-in agent tags. */
  readonly agent_columns: readonly string[];
}

/** A string value. Numbers and bigints are written as `String(value)` writes them. */
export type Scalar = string | number | bigint;

/**
 * The value of a variable: a string, an RFC 6570 list (an array) or an RFC 6570 map (a plain
 * object, in key order). `null` and `undefined` mean undefined, and so do an empty array, an
 * empty object, and list items or map values that are `null` or `undefined`, which are left out.
 */
export type Value =
  | Scalar
  | readonly (Scalar | null | undefined)[]
  | { readonly [key: string]: Scalar | null | undefined }
  | null
  | undefined;

/** Values by variable name, such as `{ "agent.id": "7" }`. Only own properties are read. */
export type Values = { readonly [name: string]: Value };

/** Parses a template into literals and expressions with their spans, or lists its errors. */
export function parse(template: string): ParseResult;

/** Validates a hook of a deployment whose agents have the extra `agentColumns`. */
export function validate(hook: Hook, agentColumns?: readonly string[]): ValidationResult;

/**
 * Parses and renders a template. Throws `TemplateError` when the template has errors or a
 * value does not fit its variable, and `InputError` for arguments of the wrong type.
 */
export function render(template: string, values?: Values): string;

/** Parses a template once for many renders. Throws `TemplateError` when it has errors. */
export function compile(template: string): CompiledTemplate;

/** Returns the catalogue of a deployment whose agents have the extra `agentColumns`. */
export function catalogue(agentColumns?: readonly string[]): Catalogue;

// `WebAssembly.Module` and `Response` are global types of the DOM library, and `Response` also
// of @types/node, but neither exists in every configuration: these resolve to `never` where the
// global is missing, so the declarations compile in browser and Node.js projects alike.
// NOTE: the DOM library declares `WebAssembly.Module` as an empty interface, so where it exists
// `InitInput` accepts any value but null and undefined.
type GlobalWasmModule = typeof globalThis extends {
  WebAssembly: { Module: abstract new (...args: never) => infer Module };
}
  ? Module
  : never;
type GlobalResponse = typeof globalThis extends {
  Response: abstract new (...args: never) => infer Response;
}
  ? Response
  : never;

/**
 * The source `init` loads the wasm module from: the URL of the `.wasm` file, a `fetch` response
 * or a promise of one, the module's bytes, or a compiled `WebAssembly.Module`.
 */
export type InitInput =
  | string
  | URL
  | ArrayBuffer
  | ArrayBufferView
  | GlobalWasmModule
  | GlobalResponse
  | PromiseLike<GlobalResponse>;

/**
 * Instantiates the wasm module. The browser entry needs `await init()` once before the other
 * functions; the Node.js entry is ready on import, and its `init` resolves at once. Without an
 * argument the module is fetched from `wasm/callout_wasm_bg.wasm` beside the package's code.
 */
export function init(input?: InitInput): Promise<void>;

/** A parsed template, kept in wasm memory until `free()` or garbage collection. */
export class CompiledTemplate {
  /** Same as `compile(template)`. */
  constructor(template: string);
  /** The template text. */
  readonly source: string;
  /** The distinct variable names, in order of first appearance. */
  readonly variables: readonly string[];
  /** Renders with `values`. Throws `TemplateError` when a value does not fit its variable. */
  render(values?: Values): string;
  /** Frees the wasm memory now; later renders throw. */
  free(): void;
}

/** A template that does not parse or render; `errors` has at least one entry. */
export class TemplateError extends Error {
  readonly name: "TemplateError";
  /** The kind of the first error. */
  readonly kind: ErrorKind;
  readonly errors: readonly ErrorDetail[];
}

/** The kind of problem with an argument. */
export type InputErrorKind = "InputMissing" | "InputTypeInvalid" | "InputNumberNotFinite";

/** An argument that is missing or of the wrong type. */
export class InputError extends TypeError {
  readonly name: "InputError";
  readonly kind: InputErrorKind;
  /** The argument's place, such as `hook.url` or `values["agent.id"][2]`. */
  readonly path: string;
}
