// The entry point for Node.js: instantiates the wasm module synchronously from the file beside
// this one, so every function works as soon as the import resolves.

import { readFileSync } from "node:fs";

import { initSync } from "./wasm/callout_wasm.js";
import { markReady } from "./api.js";

initSync({ module: readFileSync(new URL("./wasm/callout_wasm_bg.wasm", import.meta.url)) });
markReady();

/** Resolves at once: in Node.js the module is ready when the import resolves. */
export async function init() {}

export {
  CompiledTemplate,
  InputError,
  TemplateError,
  catalogue,
  compile,
  parse,
  render,
  validate,
} from "./api.js";
