/** compactBilinearPool's PyTorch fixture cases (test/fixtures/bilinear_compact.json) and their sketch parameters as tensors. */
import type { CompactBilinearParams } from "../../src/ops/compactBilinearPool.js";
import { tensor } from "../../src/tensor/tensor.js";
import type { TensorJSON } from "./fixtures.js";

export interface CompactBilinearCase {
  name: string;
  options: Record<string, unknown>;
  outputDim: number;
  params: { method: "tensor-sketch" | "random-maclaurin" } & Record<string, TensorJSON>;
  a: TensorJSON;
  b: TensorJSON | null;
  output: TensorJSON;
  dy: TensorJSON;
  da: TensorJSON;
  db: TensorJSON | null;
}

/** The case's hashes and signs (Tensor Sketch) or ±1 weights (Random Maclaurin) as int32 tensors. */
export function paramsFromJSON(c: CompactBilinearCase): CompactBilinearParams {
  const p = c.params;
  const int = (t: TensorJSON) => tensor(t.data as number[], t.shape, "int32");
  if (p.method === "tensor-sketch") {
    return { method: "tensor-sketch", outputDim: c.outputDim, h1: int(p.h1 as TensorJSON), s1: int(p.s1 as TensorJSON), h2: int(p.h2 as TensorJSON), s2: int(p.s2 as TensorJSON) };
  }
  return { method: "random-maclaurin", outputDim: c.outputDim, w1: int(p.w1 as TensorJSON), w2: int(p.w2 as TensorJSON) };
}
