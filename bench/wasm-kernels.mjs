// The later WebAssembly kernels' workloads (LP, SoftPool, LIP, RoIAlign, adaptive and global pooling):
// poolkit's TypeScript ("js") and WebAssembly SIMD ("wasm-simd") backends against the peers in
// node_modules that have the op — TensorFlow.js's wasm backend (XNNPACK) and onnxruntime-node (CPU),
// one thread each — in one process, contenders interleaved round by round (host noise hits all alike),
// medians after a warm-up.
//
// Usage: npm run build && node bench/wasm-kernels.mjs [--rounds N] [--warmup MS] [--only substring]
//
// Fairness: every contender's input is made before timing in its own layout and memory (poolkit: NCHW
// tensor in its backend's storage; tfjs: an NHWC tensor; ORT: NCHW Float32Array). tfjs outputs are
// read back (dataSync), ORT's stay in its tensors, poolkit's are freed by tidy. Where a peer has no
// such op, the composite its users would write is timed instead and named so:
// - SoftPool: avg_pool(x·eˣ) / avg_pool(eˣ) (its paper's formulation; it does not subtract the window
//   maximum, so it overflows for x ≳ 88 where poolkit does not);
// - LIP: avg_pool(x·e^L) / avg_pool(e^L), the official LIP code's formula; tfjs pads "same", which for
//   k3 s2 on 56 pads one row/column at the end only (PyTorch pads 1 on both sides): same sizes and work;
// - LP p = 2 on tfjs: sqrt(avg_pool(x²)·9);
// - adaptive 56 → 7: the bins are exactly 8 × 8, i.e. a k8 s8 pool (poolkit's max also writes indices);
// - global: tfjs mean/max over H, W; ORT GlobalAveragePool/GlobalMaxPool.
// RoIAlign: ORT's RoiAlign (opset 16, coordinate_transformation_mode "output_half_pixel" = torchvision's
// aligned = false, mode avg, sampling_ratio 2); tfjs has no RoIAlign.
import * as poolkit from "../dist/index.js";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const ROUNDS = Number(opt("--rounds", 15));
const WARMUP_MS = Number(opt("--warmup", 2000));
const ONLY = opt("--only", "");

const tf = await import("@tensorflow/tfjs")
  .then(async (m) => {
    await import("@tensorflow/tfjs-backend-wasm");
    await m.setBackend("wasm");
    await m.ready();
    return m.getBackend() === "wasm" ? m : null;
  })
  .catch((e) => {
    console.error(`tfjs-wasm unavailable: ${e.message}`);
    return null;
  });
const ort = await import("onnxruntime-node").catch((e) => {
  console.error(`onnxruntime-node unavailable: ${e.message}`);
  return null;
});

// ---- a minimal ONNX writer (protobuf wire format; field numbers from onnx/onnx.proto) ----
function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const key = (field, wire) => varint((field << 3) | wire);
const pint = (field, n) => [...key(field, 0), ...varint(n)];
const pbytes = (field, data) => [...key(field, 2), ...varint(data.length), ...data];
const pstr = (field, s) => pbytes(field, [...new TextEncoder().encode(s)]);
const pfloat = (field, f) => [...key(field, 5), ...new Uint8Array(Float32Array.of(f).buffer)];
// AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, INTS 7)
const attr = {
  int: (name, i) => pbytes(5, [...pstr(1, name), ...pint(3, i), ...pint(20, 2)]),
  ints: (name, l) => pbytes(5, [...pstr(1, name), ...l.flatMap((v) => pint(8, v)), ...pint(20, 7)]),
  float: (name, f) => pbytes(5, [...pstr(1, name), ...pfloat(2, f), ...pint(20, 1)]),
  str: (name, s) => pbytes(5, [...pstr(1, name), ...pstr(4, s), ...pint(20, 3)]),
};
// NodeProto: input 1, output 2, name 3, op_type 4, attribute 5
const node = (op, inputs, outputs, attrs = []) =>
  pbytes(1, [...inputs.flatMap((s) => pstr(1, s)), ...outputs.flatMap((s) => pstr(2, s)), ...pstr(3, `${op}_${outputs[0]}`), ...pstr(4, op), ...attrs.flat()]);
// ValueInfoProto { name 1, type 2: TypeProto { tensor_type 1: { elem_type 1, shape 2: { dim 1: { dim_value 1 } } } } }
function valueInfo(field, name, shape, elem = 1) {
  const dims = shape.flatMap((d) => pbytes(1, pint(1, d)));
  return pbytes(field, [...pstr(1, name), ...pbytes(2, pbytes(1, [...pint(1, elem), ...pbytes(2, dims)]))]);
}
/** Model bytes: nodes, inputs [name, shape, elem], one output [name, shape]; opset 16. */
function onnxModel(nodes, inputs, output) {
  const graph = [...nodes.flat(), ...pstr(2, "bench"), ...inputs.flatMap(([n, s, e]) => valueInfo(11, n, s, e)), ...valueInfo(12, output[0], output[1])];
  return Uint8Array.from([...pint(1, 8), ...pstr(2, "poolkit bench"), ...pbytes(7, graph), ...pbytes(8, [...pstr(1, ""), ...pint(2, 16)])]);
}
async function ortSession(model) {
  return ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ["cpu"] });
}

// ---- data ----
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
function nchwToNhwc(data, [n, c, h, w]) {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ch] = data[((b * c + ch) * h + y) * w + x];
  return out;
}
const rand = (shape, seed) => {
  poolkit.setBackend("js");
  return Float32Array.from(poolkit.randn(shape, { seed }).data);
};
/** 128 boxes on a 50×50 map (torchvision layout [batch, x1, y1, x2, y2]), sizes 4–40. */
function boxesFor(k, n, size, seed) {
  let s = seed;
  const u = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const b = new Float32Array(5 * k);
  for (let r = 0; r < k; r++) {
    const w = 4 + u() * 36;
    const h = 4 + u() * 36;
    const x1 = u() * (size - 1 - w);
    const y1 = u() * (size - 1 - h);
    b.set([r % n, x1, y1, x1 + w, y1 + h], 5 * r);
  }
  return b;
}

const S56 = [8, 64, 56, 56];

/** Each workload: poolkit call on its inputs, peers (each returns a runner or throws). */
function workloads() {
  const list = [];
  const x56 = rand(S56, 1);
  const l56 = rand(S56, 2);
  const nhwc = (d, s) => (tf ? tf.tensor4d(nchwToNhwc(d, s), [s[0], s[2], s[3], s[1]]) : null);
  const tfRun = (f) => () => {
    const y = tf.tidy(f);
    y.dataSync();
    y.dispose();
  };
  const ortIn = (name, d, s) => new ort.Tensor("float32", new Float32Array(d), s); // a copy: ORT rejects views of shared memory

  list.push({
    id: "LP p=2 k3 s2, [8,64,56,56]",
    inputs: [[x56, S56]],
    pk: (x) => poolkit.lpPool2d(x, { normType: 2, kernelSize: 3, stride: 2 }),
    peers: {
      "tfjs-wasm (sqrt(avgPool(x²)·9))": () => {
        const tx = nhwc(x56, S56);
        return tfRun(() => tf.sqrt(tf.mul(tf.avgPool(tf.square(tx), 3, 2, "valid"), 9)));
      },
      "onnxruntime-node LpPool": async () => {
        const s = await ortSession(onnxModel([node("LpPool", ["x"], ["y"], [attr.int("p", 2), attr.ints("kernel_shape", [3, 3]), attr.ints("strides", [2, 2])])], [["x", S56]], ["y", [8, 64, 27, 27]]));
        const feed = { x: ortIn("x", x56, S56) };
        return () => s.run(feed);
      },
    },
  });
  list.push({
    id: "SoftPool k2 s2, [8,64,56,56]",
    inputs: [[x56, S56]],
    pk: (x) => poolkit.softPool2d(x, { kernelSize: 2 }),
    peers: {
      "tfjs-wasm (avgPool(x·eˣ)/avgPool(eˣ))": () => {
        const tx = nhwc(x56, S56);
        return tfRun(() => {
          const e = tf.exp(tx);
          return tf.div(tf.avgPool(tf.mul(tx, e), 2, 2, "valid"), tf.avgPool(e, 2, 2, "valid"));
        });
      },
      "onnxruntime-node (AveragePool(x·eˣ)/AveragePool(eˣ))": async () => {
        const pool = (i, o) => node("AveragePool", [i], [o], [attr.ints("kernel_shape", [2, 2]), attr.ints("strides", [2, 2])]);
        const s = await ortSession(
          onnxModel([node("Exp", ["x"], ["e"]), node("Mul", ["x", "e"], ["xe"]), pool("xe", "a"), pool("e", "b"), node("Div", ["a", "b"], ["y"])], [["x", S56]], ["y", [8, 64, 28, 28]]),
        );
        const feed = { x: ortIn("x", x56, S56) };
        return () => s.run(feed);
      },
    },
  });
  list.push({
    id: "LIP k3 s2 p1, [8,64,56,56]",
    inputs: [[x56, S56], [l56, S56]],
    pk: (x, l) => poolkit.localImportancePool2d(x, l, { kernelSize: 3, stride: 2, padding: 1 }),
    peers: {
      "tfjs-wasm (avgPool(x·e^L)/avgPool(e^L), 'same')": () => {
        const tx = nhwc(x56, S56);
        const tl = nhwc(l56, S56);
        return tfRun(() => {
          const e = tf.exp(tl);
          return tf.div(tf.avgPool(tf.mul(tx, e), 3, 2, "same"), tf.avgPool(e, 3, 2, "same"));
        });
      },
      "onnxruntime-node (AveragePool(x·e^L)/AveragePool(e^L))": async () => {
        const pool = (i, o) => node("AveragePool", [i], [o], [attr.ints("kernel_shape", [3, 3]), attr.ints("strides", [2, 2]), attr.ints("pads", [1, 1, 1, 1]), attr.int("count_include_pad", 1)]);
        const s = await ortSession(
          onnxModel([node("Exp", ["l"], ["e"]), node("Mul", ["x", "e"], ["xe"]), pool("xe", "a"), pool("e", "b"), node("Div", ["a", "b"], ["y"])], [["x", S56], ["l", S56]], ["y", [8, 64, 28, 28]]),
        );
        const feed = { x: ortIn("x", x56, S56), l: ortIn("l", l56, S56) };
        return () => s.run(feed);
      },
    },
  });
  const SR = [2, 256, 50, 50];
  const xr = rand(SR, 3);
  const boxes = boxesFor(128, 2, 50, 7);
  list.push({
    id: "RoIAlign 128 boxes, [2,256,50,50] → 7×7, sampling 2",
    inputs: [[xr, SR], [boxes, [128, 5]]],
    pk: (x, b) => poolkit.roiAlign(x, b, { outputSize: 7, samplingRatio: 2 }),
    peers: {
      "onnxruntime-node RoiAlign": async () => {
        const rois = new Float32Array(128 * 4);
        const idx = new BigInt64Array(128);
        for (let r = 0; r < 128; r++) {
          idx[r] = BigInt(boxes[5 * r]);
          rois.set(boxes.subarray(5 * r + 1, 5 * r + 5), 4 * r);
        }
        const s = await ortSession(
          onnxModel(
            [node("RoiAlign", ["x", "rois", "bi"], ["y"], [attr.str("coordinate_transformation_mode", "output_half_pixel"), attr.str("mode", "avg"), attr.int("output_height", 7), attr.int("output_width", 7), attr.int("sampling_ratio", 2), attr.float("spatial_scale", 1)])],
            [["x", SR], ["rois", [128, 4]], ["bi", [128], 7]],
            ["y", [128, 256, 7, 7]],
          ),
        );
        const feed = { x: ortIn("x", xr, SR), rois: new ort.Tensor("float32", rois, [128, 4]), bi: new ort.Tensor("int64", idx, [128]) };
        return () => s.run(feed);
      },
    },
    backward: true,
  });
  for (const kind of ["avg", "max"]) {
    list.push({
      id: `adaptive ${kind} → 7×7, [8,64,56,56]`,
      inputs: [[x56, S56]],
      pk: (x) => (kind === "avg" ? poolkit.adaptiveAvgPool2d : poolkit.adaptiveMaxPool2d)(x, { outputSize: 7 }),
      peers: {
        [`tfjs-wasm ${kind}Pool k8 s8`]: () => {
          const tx = nhwc(x56, S56);
          return tfRun(() => (kind === "avg" ? tf.avgPool : tf.maxPool)(tx, 8, 8, "valid"));
        },
        [`onnxruntime-node ${kind === "avg" ? "AveragePool" : "MaxPool"} k8 s8`]: async () => {
          const s = await ortSession(onnxModel([node(kind === "avg" ? "AveragePool" : "MaxPool", ["x"], ["y"], [attr.ints("kernel_shape", [8, 8]), attr.ints("strides", [8, 8])])], [["x", S56]], ["y", [8, 64, 7, 7]]));
          const feed = { x: ortIn("x", x56, S56) };
          return () => s.run(feed);
        },
      },
    });
  }
  const SG = [32, 512, 7, 7];
  const xg = rand(SG, 4);
  for (const kind of ["avg", "max"]) {
    list.push({
      id: `global ${kind}, [32,512,7,7]`,
      inputs: [[xg, SG]],
      pk: (x) => (kind === "avg" ? poolkit.globalAvgPool : poolkit.globalMaxPool)(x),
      peers: {
        [`tfjs-wasm ${kind === "avg" ? "mean" : "max"} over H, W`]: () => {
          const tx = nhwc(xg, SG);
          return tfRun(() => (kind === "avg" ? tf.mean : tf.max)(tx, [1, 2]));
        },
        [`onnxruntime-node Global${kind === "avg" ? "Average" : "Max"}Pool`]: async () => {
          const s = await ortSession(onnxModel([node(kind === "avg" ? "GlobalAveragePool" : "GlobalMaxPool", ["x"], ["y"])], [["x", SG]], ["y", [32, 512, 1, 1]]));
          const feed = { x: ortIn("x", xg, SG) };
          return () => s.run(feed);
        },
      },
    });
  }
  return list;
}

const rows = [];
for (const w of workloads()) {
  if (ONLY && !w.id.includes(ONLY)) continue;
  console.error(`${w.id} …`);
  const contenders = [];
  const results = {};
  for (const backend of ["wasm-simd", "js"]) {
    poolkit.setBackend(backend);
    const ins = w.inputs.map(([d, s]) => poolkit.tensor(d, s, "float32"));
    contenders.push({ name: `poolkit ${backend}`, backend, run: () => poolkit.tidy(() => void w.pk(...ins)) });
    results[backend] = poolkit.tidy(() => w.pk(...ins).data.slice());
    if (w.backward) {
      const vjp = poolkit.roiAlign.vjp(...ins, { outputSize: 7, samplingRatio: 2 });
      const dy = poolkit.tensor(rand(vjp.output.shape, 9), vjp.output.shape, "float32");
      poolkit.setBackend(backend);
      contenders.push({ name: `poolkit ${backend} backward`, backend, run: () => poolkit.tidy(() => void vjp.backward(dy)) });
    }
  }
  for (const [name, make] of Object.entries(w.peers)) {
    if ((name.startsWith("tfjs") && tf === null) || (name.startsWith("onnx") && ort === null)) continue;
    try {
      const run = await make();
      await run();
      contenders.push({ name, run, async: name.startsWith("onnx") });
    } catch (e) {
      console.error(`  ${name} unavailable: ${e.message.split("\n")[0]}`);
    }
  }
  // how far the two poolkit backends' results are apart (max-type: bit-identical expected)
  const a = results["wasm-simd"];
  const b = results.js;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isFinite(b[i])) scale = Math.max(scale, Math.abs(b[i]));
    if (!Object.is(a[i], b[i])) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  const call = async (c) => {
    if (c.backend) poolkit.setBackend(c.backend);
    if (c.async) await c.run();
    else c.run();
  };
  const t0 = performance.now();
  while (performance.now() - t0 < WARMUP_MS) for (const c of contenders) await call(c);
  const times = new Map(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of contenders) {
      if (c.backend) poolkit.setBackend(c.backend);
      const s0 = performance.now();
      await call(c);
      times.get(c.name).push(performance.now() - s0);
    }
  }
  const row = { id: w.id, agreement: diff === 0 ? "bit-identical" : `max |Δ| ${diff.toExponential(2)} (max |y| ${scale.toFixed(2)})`, ms: {} };
  for (const c of contenders) row.ms[c.name] = median(times.get(c.name));
  rows.push(row);
  console.log(`\n${w.id}   [wasm-simd vs js: ${row.agreement}]`);
  const ref = row.ms["poolkit wasm-simd"];
  for (const [name, ms] of Object.entries(row.ms)) console.log(`  ${name.padEnd(58)} ${ms.toFixed(2).padStart(9)} ms   ${(ms / ref).toFixed(2)}× wasm-simd`);
}
console.log(`\n${ROUNDS} interleaved rounds, medians, after ${WARMUP_MS} ms warm-up; node ${process.version}`);
