import { listPools } from "../../src/index.js";
import { onnxSupport } from "../../src/onnx/index.js";
import { compareWithPoolkit } from "./ort.js";
import { tensor, Generator } from "../../src/index.js";
const EXACT = new Set(["Max", "AdaptiveMax", "GlobalMax", "FractionalMax", "RoIPool", "MaxUnpool"]);
for (const m of listPools()) {
  for (const rank of m.dims) {
    const options: Record<string, unknown> = { ...m.defaults };
    if (m.trainEval) options.training = false;
    if (m.name === "Covariance") options.normalization = "newton-schulz";
    const xShape = [2, 3, ...[8, 6, 4].slice(0, rank)];
    if (m.name === "FractionalMax") { const gen = new Generator(3); options.samples = tensor(Array.from({length: 2*3*rank}, () => gen.uniform()), [2, 3, rank]); }
    const sup = onnxSupport(m, options);
    if (!sup.supported) { console.log("unsupported", m.name, sup.reason.slice(0, 60)); continue; }
    try { await compareWithPoolkit({ method: m.name, xShape, options, exact: EXACT.has(m.name) }); console.log("ok", m.name, rank); }
    catch (e) { console.log("FAIL", m.name, rank, (e as Error).message.slice(0, 300)); }
  }
}
