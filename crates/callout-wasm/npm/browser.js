// The entry point for browsers and bundlers: `await init()` fetches and instantiates the wasm
// module once, and the other functions throw until it has.

import instantiate from "./wasm/callout_wasm.js";
import { markReady } from "./api.js";

let instantiating;

/**
 * Instantiates the wasm module. Without an argument it fetches `wasm/callout_wasm_bg.wasm`
 * beside this file, through a URL that bundlers recognize and copy. To load the module from
 * elsewhere, pass a URL, a `Response`, the module's bytes or a compiled `WebAssembly.Module`.
 * Calls after the first return the same promise.
 */
export function init(input) {
  if (instantiating === undefined) {
    const options = input === undefined ? undefined : { module_or_path: input };
    instantiating = instantiate(options).then(markReady, (error) => {
      instantiating = undefined;
      throw error;
    });
  }
  return instantiating;
}

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
