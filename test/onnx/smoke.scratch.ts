import { compareWithPoolkit } from "./ort.js";
const x = [1, NaN, 3, 2, -Infinity, Infinity, NaN, 0, 5];
for (const [method, options] of [["max", { kernelSize: 2, stride: 1 }], ["adaptivemax", { outputSize: 2 }], ["gmp", {}], ["avg", { kernelSize: 2, stride: 1 }], ["soft", {kernelSize: 2, stride: 1}]] as const) {
  try { await compareWithPoolkit({ method, xShape: [1, 1, 9], x, options, exact: true }); console.log("ok", method); }
  catch (e) { console.log("FAIL", method, (e as Error).message.slice(0, 200)); }
}
