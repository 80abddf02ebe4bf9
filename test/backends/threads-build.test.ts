/**
 * The shared-memory variant of the kernels module: the runtime derives it from the committed
 * (unshared) bytes by rewriting the memory import's limits (sharedModuleBytes); here the derivation is
 * checked against what asc itself emits with `--sharedMemory --enable threads --maximumMemory 65536`,
 * byte for byte, for the SIMD and the scalar build — so the shared module the workers run is the one
 * the sources compile to, not a hand-patched approximation.
 *
 * And the module's own data (constant tables that every instantiation writes into the memory, also
 * when a worker instantiates it on the shared memory while tensors are live) lies below the first
 * block the allocator hands out.
 */
import { describe, expect, it } from "vitest";
import { LinearHeap } from "../../src/backends/linear.js";
import { SCALAR_WASM, SIMD_WASM } from "../../src/backends/wasm/module.generated.js";
import { sharedModuleBytes } from "../../src/backends/wasm/threads.js";
import type { WasmMemory } from "../../src/backends/wasm/api.js";

const WA = (globalThis as unknown as {
  WebAssembly: {
    Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => { buffer: ArrayBuffer };
    Module: new (b: Uint8Array) => object;
    Instance: new (m: object, i: object) => object;
  };
}).WebAssembly;

const bytesOf = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, "base64"));

describe("sharedModuleBytes", () => {
  it("equals asc's --sharedMemory build byte for byte (SIMD and scalar)", async () => {
    // @ts-expect-error: a plain .mjs script without type declarations
    const { compile } = (await import("../../scripts/build-wasm.mjs")) as { compile: (simd: boolean, o?: { shared?: boolean }) => Promise<Uint8Array> };
    // the committed bytes stand for the plain build: test/backends/wasm-build.test.ts checks they are
    // exactly what the sources compile to (compiling them again here doubled this test's time)
    for (const simd of [true, false]) {
      const plain = bytesOf(simd ? SIMD_WASM : SCALAR_WASM);
      const shared = await compile(simd, { shared: true });
      const derived = sharedModuleBytes(plain);
      expect(derived.length, simd ? "simd" : "scalar").toBe(shared.length);
      expect(Buffer.from(derived).equals(Buffer.from(shared)), simd ? "simd" : "scalar").toBe(true);
      expect(Buffer.from(plain).equals(Buffer.from(shared))).toBe(false);
    }
  }, 600_000);

  it("the derived module imports a shared memory (and refuses an unshared one)", () => {
    for (const b64 of [SIMD_WASM, SCALAR_WASM]) {
      const m = new WA.Module(sharedModuleBytes(bytesOf(b64)));
      expect(() => new WA.Instance(m, { env: { memory: new WA.Memory({ initial: 2, maximum: 65536, shared: true }) } })).not.toThrow();
      expect(() => new WA.Instance(m, { env: { memory: new WA.Memory({ initial: 2, maximum: 65536 }) } })).toThrow();
    }
  });

  it("rejects a module without a memory import", () => {
    // magic, version, and an empty type section
    expect(() => sharedModuleBytes(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 1, 0]))).toThrow(/imports no memory/);
  });
});

describe("the module's data segments lie below the allocator's first block", () => {
  it("instantiating writes nothing at or above the first block's address", () => {
    // Fill two pages with a pattern, instantiate, and find the highest byte that changed; twice with
    // different patterns, so a segment byte that happens to equal one pattern is still seen.
    const firstBlock = new LinearHeap({ memory: new WA.Memory({ initial: 1, maximum: 65536 }) as unknown as WasmMemory }).allocate("float32", 1, false)?.ptr as number;
    expect(firstBlock).toBeGreaterThan(0);
    for (const b64 of [SIMD_WASM, SCALAR_WASM]) {
      let highest = -1;
      for (const pattern of [0xa5, 0x5a]) {
        const memory = new WA.Memory({ initial: 2, maximum: 65536 });
        const u8 = new Uint8Array(memory.buffer);
        u8.fill(pattern);
        new WA.Instance(new WA.Module(bytesOf(b64)), { env: { memory } });
        for (let i = u8.length - 1; i >= 0; i--) {
          if (u8[i] !== pattern) {
            highest = Math.max(highest, i);
            break;
          }
        }
      }
      expect(highest, "the module wrote its data").toBeGreaterThan(0);
      expect(highest).toBeLessThan(firstBlock);
    }
  });
});
