// Times @callout/template against the url-template and @std-uritemplate/std-uritemplate npm
// packages on realistic hook templates, after checking that all three give the same URLs, and
// prints the size of the package's .wasm file. `benches/npm/run` installs the three packages
// into a scratch project and runs this file there.

import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { gzipSync } from "node:zlib";

import { compile, render } from "@callout/template";
import { StdUriTemplate } from "@std-uritemplate/std-uritemplate";
import { parseTemplate } from "url-template";

/** Hook templates as people write them; the first is the typical one. */
const TEMPLATES = {
  typical:
    "https://hooks.example.com/callout/import?agent_id={agent.id}&list={calling_list.id}&client={client.name}",
  "path (2 tags)": "https://crm.example.com/api/v2/clients/{client.id}/lists/{calling_list.id}/reorder",
  "query (5 tags)":
    "https://example.com/hook{?agent.id,agent.username,agent.email,calling_list.id,client.identification}",
  "no tag": "https://example.com/notify",
};

const VALUES = {
  "client.id": "42",
  "client.identification": "9e107d9d372bb6826bd81d3542a419d6",
  "client.name": "Müller & Söhne Call Center",
  "agent.id": "1207",
  "agent.username": "jdoe",
  "agent.email": "jane.doe+calls@example.com",
  "calling_list.id": "880123",
};

const ROUNDS = 21;
const BATCH_MS = 20;
const WARM_UP_MS = 200;

/** Returns a function that renders `template` once, for each library and way of calling it. */
function contenders(template) {
  const compiled = compile(template);
  const parsed = parseTemplate(template);
  return {
    "one-shot": {
      callout: () => render(template, VALUES),
      "url-template": () => parseTemplate(template).expand(VALUES),
      "std-uritemplate": () => StdUriTemplate.expand(template, VALUES),
    },
    // std-uritemplate has no parsed form: each call parses the template again.
    compiled: {
      callout: () => compiled.render(VALUES),
      "url-template": () => parsed.expand(VALUES),
    },
  };
}

/** Calls `call` for WARM_UP_MS, so the JIT compiles it before anything is timed. */
function warmUp(call) {
  const end = process.hrtime.bigint() + BigInt(WARM_UP_MS * 1e6);
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 100; i++) sink += call().length;
  }
}

/** Returns how many calls of `call` take about BATCH_MS. */
function batchSize(call) {
  warmUp(call);
  let size = 1;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < size; i++) call();
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (elapsed >= BATCH_MS / 4) return Math.max(1, Math.round((size * BATCH_MS) / elapsed));
    size *= 2;
  }
}

let sink = 0;

/** Times one batch and returns nanoseconds per call. */
function timeBatch(call, size) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < size; i++) sink += call().length;
  return Number(process.hrtime.bigint() - start) / size;
}

function median(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function checkAgreement(name, template, calls) {
  const expected = calls["one-shot"].callout();
  for (const [way, byLibrary] of Object.entries(calls)) {
    for (const [library, call] of Object.entries(byLibrary)) {
      const url = call();
      if (url !== expected) {
        throw new Error(`${library} (${way}) renders ${name} as ${url}, callout as ${expected}`);
      }
    }
  }
}

function formatNs(ns) {
  return `${Math.round(ns).toLocaleString("en-US")} ns`;
}

function main() {
  const series = [];
  for (const [name, template] of Object.entries(TEMPLATES)) {
    const calls = contenders(template);
    checkAgreement(name, template, calls);
    for (const [way, byLibrary] of Object.entries(calls)) {
      for (const [library, call] of Object.entries(byLibrary)) {
        series.push({ name, way, library, call, size: batchSize(call), samples: [] });
      }
    }
  }

  // Rounds interleave every series, so a burst of load from other processes slows all of them
  // rather than one.
  for (let round = 0; round < ROUNDS; round++) {
    for (const entry of series) entry.samples.push(timeBatch(entry.call, entry.size));
  }

  const load = loadavg()[0].toFixed(1);
  console.log(
    `Node.js ${process.version}, ${availableParallelism()} cores, load average ${load}; ` +
      `medians of ${ROUNDS} rounds of about ${BATCH_MS} ms per series`,
  );
  console.log("");
  console.log("| benchmark | callout | url-template | std-uritemplate |");
  console.log("|---|---|---|---|");
  for (const way of ["compiled", "one-shot"]) {
    for (const name of Object.keys(TEMPLATES)) {
      const cell = (library) => {
        const entry = series.find((s) => s.name === name && s.way === way && s.library === library);
        if (entry === undefined) return "no parsed form";
        const ns = median(entry.samples);
        if (library === "callout") return formatNs(ns);
        const ours = median(series.find((s) => s.name === name && s.way === way && s.library === "callout").samples);
        return `${formatNs(ns)} (${(ns / ours).toFixed(1)}×)`;
      };
      const label = way === "compiled" ? `render parsed, ${name}` : `parse and render, ${name}`;
      console.log(`| ${label} | ${cell("callout")} | ${cell("url-template")} | ${cell("std-uritemplate")} |`);
    }
  }

  const wasmUrl = new URL("./wasm/callout_wasm_bg.wasm", import.meta.resolve("@callout/template/browser"));
  const wasm = readFileSync(wasmUrl);
  const gzipped = gzipSync(wasm, { level: 9 }).length;
  console.log("");
  console.log(`callout_wasm_bg.wasm: ${wasm.length.toLocaleString("en-US")} bytes, ${gzipped.toLocaleString("en-US")} gzipped (level 9)`);
  if (sink === 0) console.log("(no URL was rendered)");
}

main();
