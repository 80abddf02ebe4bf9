/**
 * The export cases shared by the registry test and the ONNX checker fixture
 * (scripts/fixtures/onnx_check.py runs `npx tsx test/onnx/cases.ts <dir>` to write every case's
 * model, then onnx.checker on each).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { Generator, listPools, tensor, type PoolMethod } from "../../src/index.js";
import { NOT_EXPRESSIBLE, toOnnx } from "../../src/onnx/index.js";
import { prepareCase, type CompareCase } from "./ort.js";

/** Max-type methods: ONNX Runtime must reproduce poolkit bit for bit. */
export const EXACT_METHODS = new Set(["Max", "AdaptiveMax", "GlobalMax", "FractionalMax", "RoIPool", "MaxUnpool", "SpatialPyramid"]);

export const SHAPES: Record<1 | 2 | 3, number[]> = { 1: [2, 3, 9], 2: [2, 3, 8, 6], 3: [2, 3, 6, 5, 4] };

/** The registry's example options made inference-ready: eval mode, fixed fractional samples, an ONNX-expressible normalisation. */
export function inferenceOptions(m: PoolMethod, rank: 1 | 2 | 3): Record<string, unknown> {
  const options: Record<string, unknown> = { ...m.defaults };
  if (m.trainEval) options.training = false;
  if (m.name === "Covariance") options.normalization = "newton-schulz";
  if (m.name === "FractionalMax") {
    const gen = new Generator(3);
    const [n, c] = SHAPES[rank] as [number, number];
    options.samples = tensor(Array.from({ length: n * c * rank }, () => gen.uniform()), [n, c, rank]);
  }
  return options;
}

export interface NamedCase extends CompareCase {
  id: string;
}

/** One inference-ready case per registry method and rank (methods ONNX cannot express left out). */
export function registryCases(): NamedCase[] {
  const cases: NamedCase[] = [];
  for (const m of listPools()) {
    if (NOT_EXPRESSIBLE[m.name] !== undefined) continue;
    for (const rank of m.dims) {
      cases.push({ id: `${m.name}-${rank}d`, method: m.name, xShape: SHAPES[rank], options: inferenceOptions(m, rank), exact: EXACT_METHODS.has(m.name) });
    }
  }
  return cases;
}

/** Models beyond the registry cases that the checker also sees: max with indices, edge geometries. */
export function extraModels(): { id: string; model: Uint8Array }[] {
  return [
    { id: "Max-indices-2d", model: toOnnx("max", { inputShape: [1, 2, 7, 6], options: { kernelSize: 3, stride: 2, padding: 1, dilation: 2, ceilMode: true }, withIndices: true }) },
    { id: "Max-indices-3d", model: toOnnx("max", { inputShape: [1, 2, 5, 4, 6], options: { kernelSize: 2, padding: 1 }, withIndices: true }) },
    { id: "Average-ceil-override", model: toOnnx("avg", { inputShape: [2, 3, 7, 8], options: { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, divisorOverride: 5 } }) },
    { id: "AdaptiveAverage-nondividing-3d", model: toOnnx("adaptiveavg", { inputShape: [1, 2, 5, 7, 6], options: { outputSize: [2, 3, 4] } }) },
    { id: "Covariance-none-full", model: toOnnx("cov", { inputShape: [2, 4, 3, 3], options: { normalization: "none", output: "full" } }) },
    { id: "CompactBilinear-rm-per-location", model: toOnnx("cbp", { inputShape: [2, 3, 4, 4], options: { outputDim: 16, method: "random-maclaurin", sumPool: false }, inputShapes: { b: null } }) },
  ];
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

// `npx tsx test/onnx/cases.ts <dir>`: write every case's model as <dir>/<id>.onnx and an index.
if (process.argv[1]?.endsWith("cases.ts") && process.argv[2]) {
  const dir = process.argv[2];
  const index: { id: string; file: string; sha256: string }[] = [];
  for (const c of registryCases()) {
    const { model } = prepareCase(c);
    const file = `${c.id}.onnx`;
    writeFileSync(join(dir, file), model);
    index.push({ id: c.id, file, sha256: sha256(model) });
  }
  for (const { id, model } of extraModels()) {
    const file = `${id}.onnx`;
    writeFileSync(join(dir, file), model);
    index.push({ id, file, sha256: sha256(model) });
  }
  writeFileSync(join(dir, "index.json"), JSON.stringify(index, null, 2));
}
