// Uses every declaration of the package as a TypeScript user would. `tsc --noEmit` must accept
// it, and each `@ts-expect-error` line must be an error, so the declarations are neither loose
// (an `any` would make those lines compile) nor wrong.

import {
  CompiledTemplate,
  InputError,
  TemplateError,
  catalogue,
  compile,
  init,
  parse,
  render,
  validate,
} from "@callout/template";
import type {
  Catalogue,
  ErrorDetail,
  ErrorKind,
  Modifier,
  Operator,
  Part,
  TagScope,
  ValidationResult,
  Values,
  WarningDetail,
} from "@callout/template";

await init();

const values: Values = {
  "agent.id": 7,
  "client.name": "Müller & Söhne",
  list: ["a", 1, null],
  keys: { k: "v", n: 2n, gone: undefined },
  missing: undefined,
};
const url: string = render("https://x/{agent.id}", values);
const template: CompiledTemplate = compile("https://x/{agent.id}");
const again: string = template.render(values) + template.render() + url;
const names: readonly string[] = template.variables;
const source: string = template.source;
template.free();

// @ts-expect-error a boolean is not a value
render("{a}", { a: true });
// @ts-expect-error lists hold strings and numbers only
render("{a}", { a: [["nested"]] });
// @ts-expect-error the template is a string
render(42, {});
// @ts-expect-error variables are read-only
template.variables.push("x");

function describePart(part: Part): string {
  switch (part.type) {
    case "literal":
      return part.encoded;
    case "expression": {
      const operator: Operator = part.operator;
      const modifiers = part.variables.map((variable) => describeModifier(variable.modifier));
      return operator + modifiers.join(",");
    }
  }
}

function describeModifier(modifier: Modifier): string {
  if (modifier.type === "prefix") return `:${modifier.length}`;
  // @ts-expect-error only a prefix has a length
  return modifier.type === "explode" ? "*" : String(modifier.length);
}

const parsed = parse("https://x/{agent.id}");
if (parsed.ok) {
  const text: string[] = parsed.parts.map(describePart);
  const offsets: number[] = parsed.parts.map((part) => part.utf16Start + part.end);
  console.log(text, offsets);
} else {
  const kinds: ErrorKind[] = parsed.errors.map((error) => error.kind);
  console.log(kinds);
}
// @ts-expect-error parts exist only once `ok` is known to be true
console.log(parsed.parts);

const report: ValidationResult = validate(
  { url: "https://x/{agent.team}", target: "callinglist", event: "import" },
  ["team"],
);
for (const error of report.errors) {
  const detail: ErrorDetail = error;
  const field: "url" | "target" | "event" = detail.field;
  console.log(field, detail.line, detail.column, detail.start, detail.utf16End);
}
for (const warning of report.warnings) {
  const detail: WarningDetail = warning;
  const replacement: string | null = detail.replacement;
  console.log(detail.kind === "LiteralEncoded", replacement);
  // @ts-expect-error warnings have no field
  console.log(detail.field);
}
// @ts-expect-error a hook needs an event
validate({ url: "https://x/", target: "campaigns" });

const deployment: Catalogue = catalogue(["team"]);
for (const tag of deployment.tags) {
  const scope: TagScope = tag.scope;
  const events = scope === "every" ? "every event" : scope.target.events.join(", ");
  console.log(tag.name, tag.optional, events);
}
const targetNames: ("callinglist" | "campaigns")[] = deployment.targets.map((target) => target.name);
const columns: readonly string[] = deployment.agent_columns;

try {
  render("{a", {});
} catch (error) {
  if (error instanceof TemplateError) {
    const kind: ErrorKind = error.kind;
    const first: ErrorDetail | undefined = error.errors[0];
    console.log(kind, first?.message, error.message);
  } else if (error instanceof InputError) {
    const kind: "InputMissing" | "InputTypeInvalid" | "InputNumberNotFinite" = error.kind;
    console.log(kind, error.path);
  }
}

console.log(again, names, source, targetNames, columns);

// Each way of loading the module type-checks where its global type exists. A
// `WebAssembly.Module` is accepted too, but TypeScript declares it as an empty interface, so
// that member of the union cannot be checked here.
async function load(bytes: ArrayBuffer, view: DataView, address: URL): Promise<void> {
  await init(bytes);
  await init(view);
  await init(address);
  await init("/assets/callout_wasm_bg.wasm");
  await init(fetch(address));
  await init(await fetch(address));
}
console.log(load);
