/**
 * The committed src/backends/wasm/module.generated.ts is exactly what scripts/build-wasm.mjs makes
 * from assembly/pool.ts (so the bytes shipped are the sources' bytes), and both builds have the
 * interface the backend expects. (The scalar build is compiled with `--disable simd`, under which
 * asc rejects any v128 use, so it cannot contain SIMD instructions.)
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

interface Desc {
  module: string;
  name: string;
  kind: string;
}
/** The WebAssembly JS API (typed here: the project's TypeScript libraries do not declare it). */
const WA = (globalThis as unknown as {
  WebAssembly: { Module: { new (b: Uint8Array): object; exports(m: object): Desc[]; imports(m: object): Desc[] } };
}).WebAssembly;

describe("generated WebAssembly module", () => {
  it("is up to date with assembly/pool.ts", async () => {
    // @ts-expect-error: a plain .mjs script without type declarations
    const { generate } = (await import("../../scripts/build-wasm.mjs")) as { generate: () => Promise<string> };
    const committed = readFileSync(new URL("../../src/backends/wasm/module.generated.ts", import.meta.url), "utf8");
    expect(committed === (await generate()), "run `node scripts/build-wasm.mjs` and commit the result").toBe(true);
  }, 600_000);

  it("both builds export the window kernels (and the later families') and import only the memory the host allocates tensors in", async () => {
    const { SIMD_WASM, SCALAR_WASM } = await import("../../src/backends/wasm/module.generated.js");
    for (const b64 of [SIMD_WASM, SCALAR_WASM]) {
      const mod = new WA.Module(new Uint8Array(Buffer.from(b64, "base64")));
      expect(WA.Module.exports(mod).map((e) => e.name).sort()).toEqual([
        "avgBackward", "avgBackwardGlobal", "avgBackwardPasses", "avgBackwardSum", "avgBackwardWrite", "avgForward", "avgRowsForward", "centreRows", "copyBlock", "dcPack", "dcSolve", "dppBackward", "dppForward", "expArray", "fractionalMaxForward", "gatherColumns", "gemmBatch", "gemmBatch32", "gemmMacro", "gemmPackA", "gemmPackB", "gemmRows", "hadamard", "logArray", "lpBackward", "lpForward", "maxBackward", "maxBackwardSmall", "maxBackwardTiled", "maxBackwardWrite", "maxBackwardZeroed", "maxForward", "maxRowsForward", "maxValuesForward", "memory", "mixBackward", "mixForward", "mlbGrad32", "mlbHidden32", "postBackward32", "postForward32", "qlStrided", "roiAlignBackward", "roiAlignForward", "roiPoolBackward", "roiPoolForward", "secularSolve", "softmaxBackward", "softmaxForward", "stochasticEvalBackward", "stochasticEvalForward", "sumImages32", "symEigBatch", "tanhArray", "trdPanel", "trdUnblocked", "unpoolBackward", "unpoolForward", "wideAvgForward", "wideMaxForward", "wyBlock", "zeroFill",
      ]);
      expect(WA.Module.imports(mod).map((e) => `${e.module}.${e.name}:${e.kind}`)).toEqual(["env.memory:memory"]);
    }
  });
});
