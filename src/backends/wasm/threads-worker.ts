/**
 * The source of a kernels worker, as a string: Node runs it with `new Worker(src, { eval: true })`, a
 * browser from a Blob URL — so, like the inlined wasm bytes, there is no asset path to configure.
 * Plain ES2020 script (no imports): in Node it reaches its port through `require`, which an eval'd
 * worker has; in a browser through `self`.
 *
 * Protocol (src/backends/wasm/threads.ts owns the layout): the first message carries the compiled
 * module, the shared memory, the control block, the worker's slot and the export names. The worker
 * instantiates the module on the shared memory (rewriting its data segments: constant tables below
 * the allocator's first block, identical bytes every time), raises its READY word, posts "ready", and
 * then never returns to its event loop: it sleeps in `Atomics.wait` on its SEQ word, and for each new
 * sequence number claims the part (compare-exchange of TICKET from SEQ to 0 — the caller, once done
 * with its own part, claims parts no worker has started the same way and runs them itself, so a
 * worker that the OS has not scheduled costs no waiting), runs export FN with NARGS float64 arguments, records success or the error text, and
 * publishes DONE = SEQ with `Atomics.notify`. FN = −1 asks it to leave the loop (it is then terminated).
 *
 * A worker that dies (process.exit, an error escaping its loop) says so before it goes: its exit hook
 * (Node's process "exit" event, a browser worker's "error" event) runs on the worker's own thread even
 * while the caller is blocked waiting for it, records the cause, publishes DONE for the part it had
 * claimed (CUR, 0 when idle) with STATUS = 2, and lowers READY — so the caller throws instead of
 * waiting forever, and no new part is given to it. FN = −2 / −3 / −4 are test faults (threads.ts
 * `injectWorkerFault`): exit, throw out of the loop, and block forever (to be terminated).
 *
 * Chunked parts (MODE = 1, what `splitCall` sends): the slot's arguments are the worker's base arguments
 * (the whole call's, with the worker's own scratch blocks), and the call's units are cut into chunks
 * described in the shared chunk block (see {@link CHUNK}); every thread — the caller and each worker
 * that claimed its part — takes the next chunk with `Atomics.add` on NEXT until none is left, zeroes its
 * scratch blocks and runs the export on that chunk's range. A worker that wakes late thus finds the
 * chunks the caller has not taken yet instead of a fixed half of the work.
 */

/** Word offsets inside a slot (Int32), shared with threads.ts. */
export const SLOT = { SEQ: 0, DONE: 1, STATUS: 2, FN: 3, NARGS: 4, READY: 5, MSGLEN: 6, TICKET: 7, CUR: 8, MODE: 9 } as const;

/**
 * The chunk block (one per pool, shared): Int32 word NEXT (the next chunk to take), then Float64 slots
 * from byte 8: UNITS, CHUNKS, COUNT (the argument holding the unit count), NSTEP, then NSTEP pairs
 * (argument, bytes per unit), then NSCRATCH and NSCRATCH pairs (argument, bytes): chunk k covers units
 * [⌊k·UNITS/CHUNKS⌋, ⌊(k+1)·UNITS/CHUNKS⌋).
 */
export const CHUNK = { NEXT: 0, UNITS: 1, CHUNKS: 2, COUNT: 3, NSTEP: 4 } as const;
/** Bytes of the chunk block (room for 60 step and scratch pairs). */
export const CHUNK_BYTES = 1024;
/** Bytes per worker slot in the control block. */
export const SLOT_BYTES = 1024;
/** Byte offset of the float64 arguments inside a slot. */
export const ARGS_OFFSET = 64;
/** Most arguments a kernel export takes (the largest, lpForward, takes 27). */
export const MAX_ARGS = 48;
/** Byte offset of the UTF-16 error text inside a slot. */
export const MSG_OFFSET = ARGS_OFFSET + 8 * MAX_ARGS;
/** Capacity of the error text, in UTF-16 code units (longer messages are cut). */
export const MSG_UNITS = (SLOT_BYTES - MSG_OFFSET) / 2;

/** The worker's script (see the protocol above); the layout constants are spliced in. */
export const WORKER_SOURCE = `"use strict";
const SEQ = ${SLOT.SEQ}, DONE = ${SLOT.DONE}, STATUS = ${SLOT.STATUS}, FN = ${SLOT.FN}, NARGS = ${SLOT.NARGS}, READY = ${SLOT.READY}, MSGLEN = ${SLOT.MSGLEN}, TICKET = ${SLOT.TICKET}, CUR = ${SLOT.CUR}, MODE = ${SLOT.MODE};
const NEXT = ${CHUNK.NEXT}, UNITS = ${CHUNK.UNITS}, CHUNKS = ${CHUNK.CHUNKS}, COUNT = ${CHUNK.COUNT}, NSTEP = ${CHUNK.NSTEP};
const SLOT_BYTES = ${SLOT_BYTES}, ARGS_OFFSET = ${ARGS_OFFSET}, MAX_ARGS = ${MAX_ARGS}, MSG_OFFSET = ${MSG_OFFSET}, MSG_UNITS = ${MSG_UNITS};
const node = typeof process === "object" && process !== null && typeof require === "function";
let post;
if (node) {
  const port = require("worker_threads").parentPort;
  post = (m) => port.postMessage(m);
  port.once("message", start);
} else {
  post = (m) => self.postMessage(m);
  self.onmessage = (e) => { self.onmessage = null; start(e.data); };
}
function text(e) {
  return e && typeof e === "object" && "message" in e ? String(e.name || "Error") + ": " + String(e.message) : String(e);
}
function start(msg) {
  let fns;
  let zeroFill;
  const CI = new Int32Array(msg.chunks);
  const CF = new Float64Array(msg.chunks);
  const base = msg.slot * SLOT_BYTES;
  const I = new Int32Array(msg.control, base, SLOT_BYTES / 4);
  const F = new Float64Array(msg.control, base + ARGS_OFFSET, MAX_ARGS);
  const M = new Uint16Array(msg.control, base + MSG_OFFSET, MSG_UNITS);
  try {
    const instance = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory } });
    fns = msg.names.map((n) => instance.exports[n]);
    zeroFill = instance.exports.zeroFill;
  } catch (e) {
    post({ type: "error", message: text(e) });
    return;
  }
  const say = (t) => {
    const len = Math.min(t.length, MSG_UNITS);
    for (let i = 0; i < len; i++) M[i] = t.charCodeAt(i);
    I[MSGLEN] = len;
  };
  let escaped = "";
  let gone = false;
  // the exit hook: runs on this thread while the caller may be blocked on DONE
  const dying = (cause) => {
    if (gone) return;
    gone = true;
    const cur = Atomics.load(I, CUR);
    if (cur !== 0) {
      say("died during a kernel call: " + cause);
      I[STATUS] = 2;
      Atomics.store(I, DONE, cur);
    }
    Atomics.store(I, READY, 0);
    Atomics.notify(I, DONE);
  };
  if (node) process.on("exit", (code) => dying(escaped !== "" ? escaped + " (exit code " + code + ")" : "the worker exited (exit code " + code + ")"));
  else self.addEventListener("error", (e) => dying(escaped !== "" ? escaped : "the worker failed: " + String(e && e.message)));
  // read SEQ before raising READY: the caller dispatches as soon as it sees READY
  let last = Atomics.load(I, SEQ);
  Atomics.store(I, READY, 1);
  post({ type: "ready" });
  try {
    loop();
  } catch (e) {
    escaped = "uncaught " + text(e);
    if (!node) dying(escaped);
    throw e;
  }
  if (!node) self.close();
  // the chunk loop of a chunked part (see the protocol above): base holds the part's arguments
  function chunks(f, base, args) {
    const units = CF[UNITS], total = CF[CHUNKS], count = CF[COUNT], nStep = CF[NSTEP], nScratch = CF[NSTEP + 1 + 2 * nStep];
    for (;;) {
      const k = Atomics.add(CI, NEXT, 1);
      if (k >= total) return;
      const lo = Math.floor((k * units) / total);
      const hi = Math.floor(((k + 1) * units) / total);
      for (let i = 0; i < base.length; i++) args[i] = base[i];
      args[count] = hi - lo;
      for (let j = 0; j < nStep; j++) args[CF[NSTEP + 1 + 2 * j]] += lo * CF[NSTEP + 2 + 2 * j];
      for (let j = 0; j < nScratch; j++) zeroFill(base[CF[NSTEP + 2 + 2 * nStep + 2 * j]], CF[NSTEP + 3 + 2 * nStep + 2 * j]);
      f.apply(null, args);
    }
  }
  function loop() {
  const args = [];
  const partArgs = [];
  for (;;) {
    let s = Atomics.load(I, SEQ);
    while (s === last) {
      Atomics.wait(I, SEQ, last);
      s = Atomics.load(I, SEQ);
    }
    last = s;
    // claim the part: the caller may have taken it already (it runs parts no worker has started)
    if (Atomics.compareExchange(I, TICKET, s, 0) !== s) {
      Atomics.store(I, DONE, s);
      Atomics.notify(I, DONE);
      continue;
    }
    const id = I[FN];
    if (id === -1) break;
    Atomics.store(I, CUR, s);
    if (id === -2) { if (node) process.exit(7); else { dying("the worker closed"); self.close(); return; } }
    if (id === -3) throw new Error("injected worker fault");
    if (id === -4) { for (;;) Atomics.wait(I, MSGLEN, I[MSGLEN]); }
    try {
      const n = I[NARGS];
      args.length = n;
      for (let i = 0; i < n; i++) args[i] = F[i];
      const f = fns[id];
      if (typeof f !== "function") throw new Error("no kernel export number " + id);
      if (I[MODE] === 1) {
        partArgs.length = n;
        chunks(f, args, partArgs);
      } else f.apply(null, args);
      I[STATUS] = 0;
    } catch (e) {
      say(text(e));
      I[STATUS] = 1;
    }
    Atomics.store(I, CUR, 0);
    Atomics.store(I, DONE, s);
    Atomics.notify(I, DONE);
  }
  }
}
`;
