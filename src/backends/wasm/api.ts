/**
 * The slice of the WebAssembly JS API the backend uses, typed here because the core compiles against
 * the ES library only (no DOM or Node typings declare `WebAssembly` for it).
 */

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  validate(bytes: Uint8Array): boolean;
}

/** The engine's `WebAssembly` object, or undefined where there is none. */
export function wasmApi(): WasmApi | undefined {
  const w = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return typeof w === "object" && w !== null && typeof w.Memory === "function" ? w : undefined;
}
