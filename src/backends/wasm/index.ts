/**
 * The WebAssembly backends: a linear heap that tensors live in, and (next step) the kernels
 * compiled from assembly/ that replace the TypeScript window kernels.
 */
import { wasmApi } from "./api.js";
import { LinearHeap, type LinearHeapOptions } from "../linear.js";

export function wasmSupported(): boolean {
  return wasmApi() !== undefined;
}

export function simdSupported(): boolean {
  return false;
}

/** A linear heap for tensors; kernels are registered by the next step. */
export function installWasmKernels(_simd: boolean, opts: Pick<LinearHeapOptions, "detachOnAllocate"> = {}): LinearHeap {
  return new LinearHeap(opts);
}

export function removeWasmKernels(): void {}
