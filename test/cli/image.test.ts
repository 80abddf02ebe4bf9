import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { channelImages, imagePlanes, imageToTensor, resizeNearest, sampleImage, scaleFor, tensorToImage } from "../../src/cli/image.js";
import { tensor } from "../../src/tensor/tensor.js";

describe("image ↔ tensor", () => {
  it("RGBA bytes become [1, 3, H, W] in [0, 1], alpha dropped", () => {
    const img = { width: 2, height: 1, data: Uint8Array.of(255, 0, 51, 7, 0, 102, 255, 200) };
    const x = imageToTensor(img);
    expect(x.shape).toEqual([1, 3, 1, 2]);
    expect(Array.from(x.data)).toEqual([1, 0, 0, 0.4, 0.2, 1].map(Math.fround));
  });

  it("round-trips any RGB image exactly with clip scaling (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.infiniteStream(fc.integer({ min: 0, max: 255 })), (w, h, stream) => {
        const data = new Uint8ClampedArray(4 * w * h);
        const it = stream[Symbol.iterator]();
        for (let i = 0; i < data.length; i++) data[i] = i % 4 === 3 ? 255 : (it.next().value as number);
        const back = tensorToImage(imageToTensor({ width: w, height: h, data }), "clip");
        expect([back.width, back.height]).toEqual([w, h]);
        expect(Array.from(back.data)).toEqual(Array.from(data));
      }),
      { numRuns: 50 },
    );
  });

  it("scales: auto clips values in [0, 1], stretches others; minmax of a constant is mid-grey", () => {
    expect(scaleFor([0, 0.5], "auto")(0.5)).toBe(128);
    expect(scaleFor([-1, 3], "auto")(1)).toBe(128); // (1 − (−1)) / 4 · 255 = 127.5 → 128
    expect(scaleFor([-1, 3], "auto")(3)).toBe(255);
    expect(scaleFor([-1, 3], "clip")(-1)).toBe(0);
    expect(scaleFor([0.25, 0.75], "minmax")(0.25)).toBe(0);
    expect(scaleFor([2, 2], "minmax")(2)).toBe(128);
  });

  it("grey outputs repeat the value in R, G and B; batches show item 0", () => {
    const grey = tensorToImage(tensor([0, 1], [1, 1, 1, 2]), "clip");
    expect(Array.from(grey.data)).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
    const rois = tensor([0.2, 0.4, 0.6, 1, 1, 1], [2, 3, 1, 1]);
    expect(imagePlanes(rois)).toEqual({ n: 2, c: 3, h: 1, w: 1 });
    expect(Array.from(tensorToImage(rois, "clip").data)).toEqual([51, 102, 153, 255]);
  });

  it("says why a tensor is not an image", () => {
    expect(imagePlanes(tensor([1, 2, 3], [1, 3]))).toBe("output of shape [1, 3] is not an image (expected [N, C, h, w] or [C, h, w])");
    expect(imagePlanes(tensor(new Float32Array(8), [1, 2, 2, 2]))).toBe("output has 2 channels; an image needs 1 (grey) or 3 (RGB)");
    expect(() => tensorToImage(tensor([1, 2, 3], [1, 3]))).toThrow(RangeError);
  });

  it("channelImages gives one grey picture per channel on a shared scale", () => {
    const imgs = channelImages(tensor([0, 2, 4, 4], [1, 4, 1, 1]));
    expect(imgs.map((i) => i.data[0])).toEqual([0, 128, 255, 255]);
  });

  it("nearest-neighbour resize reads source pixel (⌊y·h/H⌋, ⌊x·w/W⌋)", () => {
    const src = { width: 2, height: 1, data: Uint8Array.of(10, 10, 10, 255, 200, 200, 200, 255) };
    const up = resizeNearest(src, 5, 2);
    const r = (x: number, y: number) => up.data[4 * (y * 5 + x)];
    expect([0, 1, 2, 3, 4].map((x) => r(x, 0))).toEqual([10, 10, 10, 200, 200]); // ⌊x·2/5⌋ = 0,0,0,1,1
    expect(r(4, 1)).toBe(200);
  });

  it("the sample picture is deterministic and opaque", () => {
    const a = sampleImage(32, 24);
    expect([a.width, a.height, a.data.length]).toEqual([32, 24, 32 * 24 * 4]);
    expect(Array.from(a.data)).toEqual(Array.from(sampleImage(32, 24).data));
    for (let i = 3; i < a.data.length; i += 4) expect(a.data[i]).toBe(255);
  });
});
