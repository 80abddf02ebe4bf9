/**
 * The playground's computations (playground/src/lib.ts), checked against the ops' own outputs and
 * hand-computed windows: what the page draws must be what the op did.
 */
import { describe, expect, it } from "vitest";
import { listPools, getPool } from "../../src/registry.js";
import { imageToTensor, sampleImage } from "../../src/cli/image.js";
import { tensor, type Tensor } from "../../src/tensor/tensor.js";
import * as L from "../../playground/src/lib.js";

const x = imageToTensor(sampleImage(32, 32));
const ctx: L.CallContext = { logits: "contrast", boxes: L.defaultBoxes(32, 32) };
const methods = listPools().filter((m) => m.dims.includes(2));

function prepared(name: string, over: Record<string, unknown> = {}, seed = 3): L.Call {
  const m = getPool(name);
  return L.withFractionalSamples(L.prepareCall(m, x, { ...L.startOptions(m), ...over }, seed, ctx));
}

const at = (t: Tensor, k: number, c: number, i: number, j: number): number => {
  const [, cs, h, w] = t.shape as [number, number, number, number];
  return t.data[((k * cs + c) * h + i) * w + j] as number;
};

// Methods whose output is a weighted sum of x once their choices are made (the argmax, the draw,
// the logits, the RoI taps): the page calls their weight maps exact.
const WEIGHTED = ["Max", "Average", "AdaptiveAverage", "AdaptiveMax", "FractionalMax", "Mixed", "LearnedMix", "Stochastic", "S3Pool", "SoftPool", "LIP", "DPP", "RoIPool", "RoIAlign", "MaxUnpool"];

describe("provenance: the weights the page shows reproduce the op's output", () => {
  for (const name of WEIGHTED) {
    for (const training of getPool(name).trainEval ? [true, false] : [undefined]) {
      it(`${name}${training === false ? " (eval)" : ""}: Σ w·x = y at every sampled output`, () => {
        const call = prepared(name, training === undefined ? {} : { training });
        const y = L.runCall(call); // the op itself, not the vjp the weights came from
        const vjp = L.vjpCall(call);
        const draws = L.drawsOf(call);
        const [kc, c, oh, ow] = y.shape as [number, number, number, number];
        let checked = 0;
        for (let t = 0; t < 12; t++) {
          const k = t % kc;
          const ch = t % c;
          const i = (t * 7) % oh;
          const j = (t * 5 + 3) % ow;
          const p = L.provenance(call, vjp, k, ch, i, j, draws);
          const [, cs, h, w] = call.x.shape as [number, number, number, number];
          const xk = call.x.shape[0] === 1 ? 0 : k;
          let s = 0;
          for (let q = 0; q < h * w; q++) s += (p.weights[q] as number) * (call.x.data[(xk * cs + ch) * h * w + q] as number);
          const expected = name === "Stochastic" && training ? (p.picked === undefined ? NaN : (call.x.data[ch * h * w + p.picked] as number)) : s;
          expect(Math.abs(at(y, k, ch, i, j) - expected), `${name} at ${k},${ch},${i},${j}`).toBeLessThan(1e-5);
          expect(p.decomposes).toBe(true);
          checked++;
        }
        expect(checked).toBe(12);
      });
    }
  }

  it("SoftPool's weights are e^x / Σ e^x over its 2×2 window (by hand)", () => {
    const call = prepared("SoftPool");
    const p = L.provenance(call, L.vjpCall(call), 0, 1, 5, 9, null);
    const idx = [10 * 32 + 18, 10 * 32 + 19, 11 * 32 + 18, 11 * 32 + 19];
    const e = idx.map((q) => Math.exp(x.data[32 * 32 + q] as number));
    const z = e.reduce((a, b) => a + b, 0);
    idx.forEach((q, n) => expect(p.weights[q]).toBeCloseTo((e[n] as number) / z, 6));
    expect(p.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(p.windows).toEqual([{ y0: 10, y1: 12, x0: 18, x1: 20, step: 1 }]);
  });

  it("Max: one weight 1 at the window's first maximum; the window is PyTorch's (k3, s2, p1)", () => {
    const call = prepared("Max");
    const p = L.provenance(call, L.vjpCall(call), 0, 0, 4, 6, null);
    // rows 4·2 − 1 … 4·2 + 1, columns 11 … 13
    expect(p.windows).toEqual([{ y0: 7, y1: 10, x0: 11, x1: 14, step: 1 }]);
    let best = -1;
    let bestV = -Infinity;
    for (let a = 7; a < 10; a++) for (let b = 11; b < 14; b++) if ((x.data[a * 32 + b] as number) > bestV) [best, bestV] = [a * 32 + b, x.data[a * 32 + b] as number];
    expect(p.picked).toBe(best);
    expect(p.weights[best]).toBe(1);
    expect(p.weights.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it("Tree: a gated method's map is labelled ∂y/∂x, and the page says when Σ w·x misses y", () => {
    const call = prepared("Tree");
    const vjp = L.vjpCall(call);
    const misses = [];
    for (let i = 0; i < 16; i++) {
      const p = L.provenance(call, vjp, 0, 0, i, i, null);
      expect(p.label).toMatch(/∂y\/∂x/);
      expect(p.decomposes).toBe(Math.abs(p.sum - p.y) <= 1e-4 * Math.max(1, Math.abs(p.y)));
      if (!p.decomposes) misses.push(i);
    }
    expect(misses.length).toBeGreaterThan(0); // the gate depends on x: not a plain weighted sum
  });
});

describe("random draws: the pictures are the op's own draws", () => {
  it("fractional: every output is the max over the drawn intervals", () => {
    const call = prepared("FractionalMax", {}, 11);
    const y = L.runCall(call);
    const d = L.drawsOf(call)?.fractional;
    if (!d) throw new Error("no fractional draw");
    const [, , oh, ow] = y.shape as [number, number, number, number];
    expect(d.rowStarts.length).toBe(oh);
    expect(d.colStarts.length).toBe(ow);
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let m = -Infinity;
        for (let a = 0; a < d.kernel[0]; a++) for (let b = 0; b < d.kernel[1]; b++) m = Math.max(m, x.data[((d.rowStarts[i] as number) + a) * 32 + (d.colStarts[j] as number) + b] as number);
        expect(at(y, 0, 0, i, j)).toBe(m);
      }
    }
  });

  it("S3Pool: every output is the k×k max at the drawn row and column", () => {
    const call = prepared("S3Pool", { training: true }, 5);
    const y = L.runCall(call);
    const s3 = L.drawsOf(call)?.s3;
    if (!s3) throw new Error("no S3 draw");
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 16; j++) {
        let m = -Infinity;
        for (let a = 0; a < s3.kernel; a++) for (let b = 0; b < s3.kernel; b++) m = Math.max(m, x.data[32 * 32 * 2 + ((s3.rows[i] as number) + a) * 32 + (s3.cols[j] as number) + b] as number);
        expect(at(y, 0, 2, i, j)).toBe(m);
      }
    }
  });

  it("Stochastic: every output is the picked pixel, inside its window", () => {
    const call = prepared("Stochastic", { training: true }, 9);
    const y = L.runCall(call);
    const picks = L.drawsOf(call)?.stochastic;
    if (!picks) throw new Error("no picks");
    const [, c, oh, ow] = y.shape as [number, number, number, number];
    for (let ch = 0; ch < c; ch++) {
      for (let t = 0; t < oh * ow; t++) {
        const q = picks[ch * oh * ow + t] as number;
        expect(at(y, 0, ch, Math.floor(t / ow), t % ow)).toBe(x.data[ch * 32 * 32 + q]);
        const [i, j, r, s] = [Math.floor(t / ow), t % ow, Math.floor(q / 32), q % 32];
        expect(r >= 2 * i && r < 2 * i + 3 && s >= 2 * j && s < 2 * j + 3).toBe(true);
      }
    }
  });

  it("Mixed: a λ per output pixel (the page's start), max where λ = 1, avg where λ = 0", () => {
    const call = prepared("Mixed", { training: true }, 2);
    const lam = L.drawsOf(call)?.lambdas;
    if (!lam) throw new Error("no lambdas");
    const y = L.runCall(call);
    expect(lam.shape).toEqual(y.shape);
    const seen = new Set<number>();
    for (let ch = 0; ch < 3; ch++) {
      for (let t = 0; t < 16 * 16; t += 17) {
        const [i, j] = [Math.floor(t / 16), t % 16];
        const v = [0, 1, 32, 33].map((q) => x.data[ch * 1024 + 2 * i * 32 + 2 * j + q] as number);
        const l = lam.values[ch * 256 + t] as number;
        seen.add(l);
        expect(at(y, 0, ch, i, j)).toBeCloseTo(l === 1 ? Math.max(...v) : v.reduce((a, b) => a + b, 0) / 4, 6);
      }
    }
    expect([...seen].sort()).toEqual([0, 1]);
  });
});

describe("extra inputs and pictures", () => {
  it("MaxUnpool is the round trip of the picture: full size, maxima in place, zeros elsewhere", () => {
    const call = prepared("MaxUnpool");
    const y = L.runCall(call);
    expect(y.shape).toEqual(x.shape);
    let kept = 0;
    for (let q = 0; q < y.size; q++) {
      if (y.data[q] !== 0) {
        expect(y.data[q]).toBe(x.data[q]);
        kept++;
      }
    }
    expect(kept).toBeGreaterThan(y.size / 8);
  });

  it("LIP logits: zero gives average pooling, brightness favours bright pixels", () => {
    const z = L.importanceLogits(x, "zero", 0);
    expect(Array.from(z.data).every((v) => v === 0)).toBe(true);
    const b = L.importanceLogits(x, "brightness", 0);
    expect(b.data[5]).toBeCloseTo(10 * (x.data[5] as number), 5);
    const s = L.importanceLogits(x, "simplified-lip", 0);
    expect(Math.min(...s.data)).toBeGreaterThan(0);
    expect(Math.max(...s.data)).toBeLessThan(12);
    const c = L.importanceLogits(tensor([0, 0, 0, 0, 1, 0, 0, 0, 0], [1, 1, 3, 3]), "contrast", 0);
    expect(c.data[4]).toBeCloseTo(20 * (1 - 1 / 9), 5); // centre: 1 − mean of 9
    expect(c.data[0]).toBeCloseTo(20 * (1 / 4), 5); // corner: 0 − mean of its 4
  });

  it("RoI boxes go in as [K, 5] with batch index 0", () => {
    const call = prepared("RoIAlign");
    const b = call.extras.get("boxes") as Tensor;
    expect(b.shape).toEqual([2, 5]);
    expect(Array.from(b.data.subarray(0, 5))).toEqual([0, ...Object.values(ctx.boxes[0] as L.Box)]);
    expect(L.runCall(call).shape).toEqual([2, 3, 7, 7]);
  });

  it("covariance is unpacked from its upper triangle into a symmetric C × C matrix", () => {
    const call = prepared("Covariance");
    const y = L.runCall(call);
    const p = L.vectorPicture(call, y);
    if (p.kind !== "matrix") throw new Error(p.kind);
    expect([p.rows, p.cols]).toEqual([3, 3]);
    expect(Array.from(p.values)).toEqual([0, 1, 2, 1, 3, 4, 2, 4, 5].map((t) => y.data[t]));
  });

  it("SPP splits into its levels, 4×4 + 2×2 + 1×1 per channel", () => {
    const call = prepared("SpatialPyramid");
    const p = L.vectorPicture(call, L.runCall(call));
    if (p.kind !== "pyramid") throw new Error(p.kind);
    expect(p.levels.map((l) => [l.n, l.values.length])).toEqual([[4, 48], [2, 12], [1, 3]]);
    expect(p.levels[2]?.values[0]).toBe(Math.max(...x.data.subarray(0, 1024))); // the 1×1 max bin of R
  });

  it("compact bilinear's kernel estimate approaches the exact bilinear kernel as outputDim grows", () => {
    const small = L.compactKernel(x, { outputDim: 16, method: "tensor-sketch", seed: 1 });
    const big = L.compactKernel(x, { outputDim: 2048, method: "tensor-sketch", seed: 1 });
    expect(big.relErr).toBeLessThan(small.relErr);
    expect(big.relErr).toBeLessThan(0.1);
    expect(big.exact[0]).toBeGreaterThan(0);
  });

  it("shiftRight moves the picture one pixel right, repeating the edge column", () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [1, 1, 2, 3]);
    expect(Array.from(L.shiftRight(t).data)).toEqual([1, 1, 2, 4, 4, 5]);
    const d = L.shiftDifference(t, L.shiftRight(t));
    expect(d.map && Array.from(d.map)).toEqual([0, 1, 1, 0, 1, 1]);
  });
});

describe("the page's live gradient check", () => {
  for (const m of methods) {
    it(`${m.name}: backward agrees with finite differences on the picture`, () => {
      const r = L.gradientCheck(L.withFractionalSamples(L.prepareCall(m, x, L.startOptions(m), 3, ctx)));
      expect(r.relErr).toBeLessThan(1e-5);
    });
  }
});

describe("vector outputs: where an entry came from", () => {
  it("SPP: a bin's entry is the max over that adaptive bin, and the bin is PyTorch's", () => {
    const call = prepared("SpatialPyramid");
    const vjp = L.vjpCall(call);
    // level 0 is 4×4 over 32 px: bin (1, 2) = rows 8–15, columns 16–23
    const { entry, bin } = L.sppEntry(call, 0, 2, 1, 2);
    expect(bin).toEqual({ y0: 8, y1: 16, x0: 16, x1: 24 });
    let m = -Infinity;
    for (let a = 8; a < 16; a++) for (let b = 16; b < 24; b++) m = Math.max(m, x.data[2 * 1024 + a * 32 + b] as number);
    expect(vjp.output.data[entry]).toBe(m);
    const p = L.entryProvenance(call, vjp, entry, 2, [bin]);
    expect(p.decomposes).toBe(true);
    expect(p.picked).toBeDefined();
    expect(x.data[2 * 1024 + (p.picked as number)]).toBe(m);
  });

  it("covariance: cell (i, j) and (j, i) are the same upper-triangle entry", () => {
    const call = prepared("Covariance");
    const y = L.runCall(call);
    const pic = L.vectorPicture(call, y);
    if (pic.kind !== "matrix") throw new Error(pic.kind);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(y.data[L.matrixEntry(call, 3, i, j)]).toBe(pic.values[i * 3 + j]);
  });
});
