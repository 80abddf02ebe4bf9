/**
 * The worker pool behind `setThreads(n)`: n − 1 workers (worker_threads in Node, Web Workers in
 * browsers) that instantiate the same kernels module on the same **shared** `WebAssembly.Memory`, so
 * a kernel call can be split into parts — by planes (N·C) for the window kernels, by channels for the
 * RoI kernels — that run at once on different threads with nothing copied.
 *
 * Dispatch costs no message: each worker owns a slot in a control block (a SharedArrayBuffer) and
 * sleeps in `Atomics.wait`. A call writes each worker's export number and arguments into its slot,
 * bumps its sequence word and `Atomics.notify`s it, runs its own part on the calling thread, then waits
 * for every worker's DONE word (blocking `Atomics.wait` where the thread may block — Node's main
 * thread, a browser worker — else spinning on `Atomics.load`, as a browser's main thread must). A
 * worker that throws (a trap, a bad argument) records the error text in its slot, and the caller
 * throws it: a failure surfaces as an exception, never as a hang.
 *
 * Workers start asynchronously; until a worker has reported ready, calls simply do not give it a part
 * (nothing ever waits for a worker to start). `setThreads` returns a promise that resolves when the
 * pool is ready.
 *
 * Shared memory needs `SharedArrayBuffer`: always in Node; in browsers only on cross-origin-isolated
 * pages (COOP `same-origin` + COEP `require-corp`, which `poolkit serve` sends). Elsewhere the memory is
 * an ordinary one and `setThreads(n > 1)` keeps one thread without an error (`getThreads()` says 1).
 *
 * The kernels module itself is built once, importing an unshared memory; its shared variant differs
 * only in the import's limits (flags 0x03, a maximum), which {@link sharedModuleBytes} patches in at
 * load time — test/backends/threads-build.test.ts checks the patch equals asc's own `--sharedMemory`
 * build byte for byte, so the bundle carries two modules instead of four.
 */
import { PoolkitRangeError, PoolkitTypeError, show } from "../../errors.js";
import { LinearHeap } from "../linear.js";
import type { WasmApi, WasmInstance, WasmMemory } from "./api.js";
import { ARGS_OFFSET, CHUNK, CHUNK_BYTES, MAX_ARGS, MSG_OFFSET, MSG_UNITS, SLOT, SLOT_BYTES, WORKER_SOURCE } from "./threads-worker.js";

/** Most threads a pool runs (the calling thread plus 63 workers: the control block's slots). */
export const MAX_THREADS = 64;

/** wasm32's 4 GiB, in 64 KiB pages: the maximum the shared module declares. */
const MAX_PAGES = 65536;

// ---------------------------------------------------------------------------------------------------
// Environment

interface Glob {
  SharedArrayBuffer?: unknown;
  crossOriginIsolated?: boolean;
  Worker?: new (url: string) => BrowserWorker;
  Blob?: new (parts: string[], opts: { type: string }) => unknown;
  URL?: { createObjectURL(b: unknown): string; revokeObjectURL(u: string): void };
  navigator?: { hardwareConcurrency?: number };
  process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown };
}
const g = globalThis as unknown as Glob;

const isNode = (): boolean => typeof g.process?.versions?.node === "string";

/**
 * Whether this engine can share WebAssembly memory between threads: `SharedArrayBuffer` exists (in
 * browsers it does only when the page is cross-origin isolated) and, in a browser, `crossOriginIsolated`.
 */
export function sharedMemorySupported(): boolean {
  if (typeof g.SharedArrayBuffer !== "function") return false;
  return isNode() || g.crossOriginIsolated === true;
}

let blocking: boolean | undefined;
/** Whether this thread may block in `Atomics.wait` (not on a browser's main thread). */
function canBlock(): boolean {
  if (blocking === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      blocking = true;
    } catch {
      blocking = false;
    }
  }
  return blocking;
}

// ---------------------------------------------------------------------------------------------------
// The shared variant of the module

function readLeb(b: Uint8Array, at: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (;;) {
    const byte = b[at++];
    if (byte === undefined) throw new Error("sharedModuleBytes: truncated module");
    v += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [v, at];
  }
}

function leb(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

/**
 * The module's bytes with its imported memory declared shared, with maximum `maxPages` (what asc's
 * `--sharedMemory --maximumMemory maxPages` emits): the import section is re-encoded with the memory
 * import's limits flags 0x03 (has maximum, shared) and the maximum added; every other byte is kept.
 * Binary format: WebAssembly Core Specification 2.0, §5.5.2 (sections), §5.5.5 (imports), §5.3.4
 * (limits) and the threads proposal's limits encoding.
 */
export function sharedModuleBytes(bytes: Uint8Array, maxPages = MAX_PAGES): Uint8Array {
  const out: number[] = Array.from(bytes.subarray(0, 8));
  let at = 8;
  let patched = false;
  while (at < bytes.length) {
    const id = bytes[at] as number;
    const [size, start] = readLeb(bytes, at + 1);
    const end = start + size;
    if (id !== 2) {
      for (let i = at; i < end; i++) out.push(bytes[i] as number);
      at = end;
      continue;
    }
    const body: number[] = [];
    let p = start;
    const [count, p0] = readLeb(bytes, p);
    body.push(...leb(count));
    p = p0;
    for (let e = 0; e < count; e++) {
      const from = p;
      for (let s = 0; s < 2; s++) {
        const [len, q] = readLeb(bytes, p);
        p = q + len;
      }
      const kind = bytes[p++] as number;
      for (let i = from; i < p; i++) body.push(bytes[i] as number);
      if (kind === 0) {
        const q = readLeb(bytes, p)[1];
        for (let i = p; i < q; i++) body.push(bytes[i] as number);
        p = q;
      } else if (kind === 1 || kind === 2) {
        const from2 = p;
        if (kind === 1) p++; // the table's reference type
        for (let i = from2; i < p; i++) body.push(bytes[i] as number);
        const flags = bytes[p++] as number;
        const [min, q] = readLeb(bytes, p);
        p = q;
        let max: number | undefined;
        if (flags & 1) [max, p] = readLeb(bytes, p);
        if (kind === 2) {
          body.push(0x03, ...leb(min), ...leb(max ?? maxPages));
          patched = true;
        } else {
          body.push(flags, ...leb(min), ...(max === undefined ? [] : leb(max)));
        }
      } else if (kind === 3) {
        body.push(bytes[p] as number, bytes[p + 1] as number);
        p += 2;
      } else {
        throw new Error(`sharedModuleBytes: unknown import kind ${kind}`);
      }
    }
    if (p !== end) throw new Error("sharedModuleBytes: malformed import section");
    out.push(2, ...leb(body.length), ...body);
    at = end;
  }
  if (!patched) throw new Error("sharedModuleBytes: the module imports no memory");
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------------------------------------------
// Workers

interface BrowserWorker {
  postMessage(m: unknown): void;
  terminate(): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message?: string }) => void) | null;
}
interface NodeWorker {
  postMessage(m: unknown): void;
  terminate(): Promise<number>;
  unref(): void;
  on(event: string, fn: (v: unknown) => void): void;
}
type NodeWorkerCtor = new (src: string, opts: { eval: true }) => NodeWorker;

let nodeWorkerCtor: NodeWorkerCtor | undefined;

/** worker_threads' Worker, loaded without a static `node:` import (the core must bundle for browsers). */
async function nodeWorker(): Promise<NodeWorkerCtor> {
  if (nodeWorkerCtor !== undefined) return nodeWorkerCtor;
  const id = "node:worker_threads";
  // process.getBuiltinModule: Node ≥ 20.16 / 22.3, synchronous; else a dynamic import whose specifier
  // bundlers cannot see (it is only reached in Node).
  const mod = (g.process?.getBuiltinModule?.(id) ?? (await import(/* @vite-ignore */ id))) as { Worker: NodeWorkerCtor };
  nodeWorkerCtor = mod.Worker;
  return mod.Worker;
}

interface Slot {
  readonly index: number;
  stop(): Promise<void>;
  /** Resolves when the worker reports ready, rejects when it cannot start. */
  ready: Promise<void>;
  /** Not usable: stopped, failed to start, or died. */
  dead: boolean;
  /** Stopped on purpose (its start-up failing then is no error). */
  stopped: boolean;
  /** The worker object exists (so `stop` terminates it). */
  spawned: boolean;
  /** This thread asked for the worker's termination (it may die without its exit hook running). */
  terminated: boolean;
  /** Terminate the worker at once (no goodbye); a test fault. */
  kill(): void;
}

/** Start message: the worker instantiates `module` on `memory` and serves slot `slot`. */
interface StartMessage {
  module: object;
  memory: WasmMemory;
  control: SharedArrayBuffer;
  /** The chunk block of chunked parts (threads-worker.ts CHUNK). */
  chunks: SharedArrayBuffer;
  slot: number;
  names: readonly string[];
}

async function spawn(start: StartMessage, onDeath: () => void): Promise<{ stop(): Promise<void>; kill(): void; ready: Promise<void> }> {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const ready = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  const onMessage = (m: unknown): void => {
    const msg = m as { type?: string; message?: string };
    if (msg.type === "ready") resolve();
    else if (msg.type === "error") reject(new Error(`setThreads: a worker could not instantiate the kernels: ${msg.message ?? ""}`));
  };
  if (isNode()) {
    const W = await nodeWorker();
    const w = new W(WORKER_SOURCE, { eval: true });
    w.on("message", onMessage);
    w.on("error", (e) => {
      onDeath();
      reject(new Error(`setThreads: a worker failed: ${String((e as Error)?.message ?? e)}`));
    });
    w.on("exit", () => {
      onDeath();
      reject(new Error("setThreads: a worker exited before it was ready"));
    });
    // Referenced while starting (so `await setThreads(n)` keeps Node running until it settles), then
    // unreferenced: idle workers must not keep Node alive. (After the listeners: adding one refs again.)
    void ready.then(
      () => w.unref(),
      () => w.unref(),
    );
    w.postMessage(start);
    return { stop: () => w.terminate().then(() => undefined), kill: () => void w.terminate().catch(() => undefined), ready };
  }
  const { Worker, Blob, URL } = g;
  if (Worker === undefined || Blob === undefined || URL === undefined) throw new Error("setThreads: this engine has no Worker");
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const w = new Worker(url);
  w.onmessage = (e) => onMessage(e.data);
  w.onerror = (e) => {
    onDeath();
    reject(new Error(`setThreads: a worker failed: ${e.message ?? "error"}`));
  };
  w.postMessage(start);
  void ready.then(
    () => URL.revokeObjectURL(url),
    () => URL.revokeObjectURL(url),
  );
  return {
    stop: () => {
      w.terminate(); // immediate in browsers
      return Promise.resolve();
    },
    kill: () => w.terminate(),
    ready,
  };
}

/** FN words of the test faults (threads-worker.ts). */
const FAULT_FN: Record<WorkerFault, number> = { exit: -2, throw: -3, terminate: -4 };

/** Counters for tests and the benchmark: how many calls were split, parts run by workers, workers lost. */
export interface ThreadStats {
  splitCalls: number;
  workerParts: number;
  /** Workers that died while in use (not stopped by setThreads). */
  deaths: number;
  /** Replacement workers started after deaths. */
  respawns: number;
}

/** Replacements a pool starts for workers that died; past this it keeps the threads it has left. */
const MAX_RESPAWNS = 3;

/**
 * A test fault for the next split call's first worker part (threads-worker.ts FN −2/−3/−4): the worker
 * exits, throws out of its loop, or blocks and is terminated by this thread. @internal
 */
export type WorkerFault = "exit" | "throw" | "terminate";

/**
 * The workers of one kernels instance (one shared memory). Created by {@link sharedInstance}; sized by
 * `setThreads`.
 */
export class ThreadPool {
  readonly #start: Omit<StartMessage, "slot">;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #u16: Uint16Array;
  readonly #ci: Int32Array;
  readonly #cf: Float64Array;
  readonly #ids = new Map<string, number>();
  #slots: Slot[] = [];
  /** Slot indices whose worker may still be alive (a stopped Node worker until its exit): not reused before. */
  readonly #busy = new Set<number>();
  #gen = 0;
  /** Ready workers, in slot order (refreshed while some are still starting). */
  #ready: Slot[] = [];
  #starting = 0;
  /** Workers asked for by the last {@link resize} (replacements restore it). */
  #want = 0;
  #fault: WorkerFault | null = null;
  /** Replacements started since the last resize asked for by setThreads. */
  #replacements = 0;
  readonly stats: ThreadStats = { splitCalls: 0, workerParts: 0, deaths: 0, respawns: 0 };

  constructor(module: object, memory: WasmMemory, names: readonly string[]) {
    const control = new SharedArrayBuffer((MAX_THREADS - 1) * SLOT_BYTES);
    const chunks = new SharedArrayBuffer(CHUNK_BYTES);
    this.#start = { module, memory, control, chunks, names };
    this.#ci = new Int32Array(chunks);
    this.#cf = new Float64Array(chunks);
    this.#i32 = new Int32Array(control);
    this.#f64 = new Float64Array(control);
    this.#u16 = new Uint16Array(control);
    names.forEach((n, i) => this.#ids.set(n, i));
  }

  /** Threads a call may use now: this one plus the workers that have reported ready. */
  get threads(): number {
    if (this.#starting > 0) this.#refresh();
    return 1 + this.#ready.length;
  }

  #refresh(): void {
    this.#ready = this.#slots.filter((s) => !s.dead && Atomics.load(this.#i32, (s.index * SLOT_BYTES) / 4 + SLOT.READY) === 1);
    this.#starting = this.#slots.filter((s) => !s.dead).length - this.#ready.length;
  }

  /**
   * A worker died while in use (found by its exit hook, its termination, or the worker's "exit"/"error"
   * event): it gets no more parts, its slot is released, and a replacement starts in the background —
   * at most {@link MAX_RESPAWNS} per pool, after which the pool keeps the threads it has. Returns what
   * happens next, for error messages.
   */
  #lost(s: Slot): string {
    if (s.stopped) return "";
    const first = !s.dead || this.#slots.includes(s);
    s.dead = true;
    s.stopped = true;
    this.#slots = this.#slots.filter((x) => x !== s);
    Atomics.store(this.#i32, (s.index * SLOT_BYTES) / 4 + SLOT.READY, 0);
    if (first) this.stats.deaths++;
    if (s.spawned) {
      s.terminated = true;
      void this.#release(s).catch(() => undefined);
    }
    this.#refresh();
    if (this.#replacements >= MAX_RESPAWNS) {
      return `no replacement (${this.#replacements} replacements since the last setThreads, the limit): kernels continue on ${1 + this.#ready.length} thread(s); setThreads(n) starts new workers`;
    }
    this.#replacements++;
    this.stats.respawns++;
    // after this call returns (resize changes the slot list the running call may still be reading)
    void Promise.resolve()
      .then(() => this.resize(this.#want + 1, true))
      .catch(() => undefined);
    return "a replacement worker is starting; until it is ready kernels run on the remaining threads";
  }

  /**
   * @internal Tests: terminate the first ready worker now, between calls (its "exit" event arrives
   * only when this thread next returns to its event loop).
   */
  killIdleWorker(): void {
    const s = this.#ready[0];
    if (s === undefined) throw new Error("threads: no ready worker");
    s.kill();
    s.terminated = true;
  }

  /** @internal Tests: make the next split call's first worker part die in the given way. */
  injectWorkerFault(fault: WorkerFault | null): void {
    this.#fault = fault;
  }

  /**
   * Run `n − 1` workers (spawning or stopping); resolves when every worker has reported ready.
   * `replacing`: started by {@link #lost} (does not renew the replacement allowance).
   */
  async resize(n: number, replacing = false): Promise<void> {
    const want = Math.max(0, Math.min(n, MAX_THREADS) - 1);
    this.#want = want;
    if (!replacing) this.#replacements = 0;
    this.#slots = this.#slots.filter((s) => !s.dead); // workers that failed or died are replaced
    while (this.#slots.length > want) this.#stop(this.#slots.pop() as Slot);
    const pending: Promise<void>[] = this.#slots.map((s) => s.ready);
    while (this.#slots.length < want) {
      let index = 0;
      while (this.#busy.has(index)) index++;
      if (index >= MAX_THREADS - 1) throw new Error("setThreads: every worker slot is still in use by a stopping worker; try again");
      this.#busy.add(index);
      const base = (index * SLOT_BYTES) / 4;
      this.#i32.fill(0, base, base + ARGS_OFFSET / 4);
      const slot: Slot = { index, stop: () => Promise.resolve(), kill: () => undefined, ready: Promise.resolve(), dead: false, stopped: false, spawned: false, terminated: false };
      this.#slots.push(slot);
      this.#starting++;
      let started = false;
      const onDeath = (): void => {
        if (started && !slot.stopped) {
          this.#lost(slot); // died after it was ready: replace it
          return;
        }
        slot.dead = true;
        this.#refresh();
      };
      slot.ready = spawn({ ...this.#start, slot: index }, onDeath)
        .then(async ({ stop, kill, ready }) => {
          slot.stop = stop;
          slot.kill = kill;
          slot.spawned = true;
          if (slot.stopped) await this.#release(slot); // stopped (setThreads(1)) while it was starting
          else {
            await ready;
            started = true;
          }
        })
        .catch((e: unknown) => {
          onDeath();
          if (!slot.stopped || !slot.spawned) void this.#release(slot);
          if (!slot.stopped) throw e;
        })
        .finally(() => this.#refresh());
      pending.push(slot.ready);
    }
    this.#refresh();
    await Promise.all(pending);
  }

  #stop(s: Slot): void {
    s.dead = true;
    s.stopped = true;
    const base = (s.index * SLOT_BYTES) / 4;
    if (Atomics.load(this.#i32, base + SLOT.READY) === 1) {
      this.#i32[base + SLOT.FN] = -1;
      const gen = this.#next();
      Atomics.store(this.#i32, base + SLOT.TICKET, gen);
      Atomics.store(this.#i32, base + SLOT.SEQ, gen);
      Atomics.notify(this.#i32, base + SLOT.SEQ);
    }
    Atomics.store(this.#i32, base + SLOT.READY, 0);
    if (s.spawned) void this.#release(s); // else released when spawn() returns it
    this.#refresh();
  }

  /** Terminate a slot's worker and free its index once the worker is gone. */
  async #release(s: Slot): Promise<void> {
    s.terminated = true;
    try {
      await s.stop();
    } finally {
      this.#busy.delete(s.index);
    }
  }

  #next(): number {
    this.#gen = this.#gen >= 0x7fffffff ? 1 : this.#gen + 1;
    return this.#gen;
  }

  /** The export's number in the workers' table. */
  id(name: string): number {
    const id = this.#ids.get(name);
    if (id === undefined) throw new Error(`threads: the kernels module has no export ${name}`);
    return id;
  }

  /**
   * Describe the chunks of the next {@link run} with `chunked` (threads-worker.ts CHUNK): `units` cut into
   * `total` chunks; argument `count` holds a chunk's unit count, each `step` argument advances by its bytes
   * per unit, each `scratch` argument (a per-thread block of that many bytes) is zeroed before a chunk.
   */
  setChunks(units: number, total: number, count: number, step: Split["step"], scratch: NonNullable<Split["scratch"]>): void {
    const f = this.#cf;
    if (CHUNK.NSTEP + 2 + 2 * (step.length + scratch.length) > CHUNK_BYTES / 8) throw new Error("threads: too many step and scratch arguments");
    f[CHUNK.UNITS] = units;
    f[CHUNK.CHUNKS] = total;
    f[CHUNK.COUNT] = count;
    f[CHUNK.NSTEP] = step.length;
    let at = CHUNK.NSTEP + 1;
    for (const [a, bytes] of step) {
      f[at++] = a;
      f[at++] = bytes;
    }
    f[at++] = scratch.length;
    for (const [a, bytes] of scratch) {
      f[at++] = a;
      f[at++] = bytes;
    }
    Atomics.store(this.#ci, CHUNK.NEXT, 0);
  }

  /** The next chunk of the current chunked call, or −1 when every chunk is taken. */
  takeChunk(): number {
    const k = Atomics.add(this.#ci, CHUNK.NEXT, 1);
    return k < (this.#cf[CHUNK.CHUNKS] as number) ? k : -1;
  }

  /**
   * Run export `fn` (number `id` in the workers' table) with `own` on this thread and `parts[i]` on
   * ready worker i, at once; returns when all are done. Throws the first error (this thread's, else a
   * worker's). `stats.workerParts` counts the parts workers ran.
   *
   * `chunked` (after {@link setChunks}): `parts[i]` are worker i's base arguments and every thread
   * takes chunks until none is left (`own` is this thread's chunk loop): a part no worker has claimed
   * when `own` returns needs nothing more (its chunks were taken here). In claim mode "workers" this
   * thread takes no chunk unless a worker is lost before claiming its part.
   */
  run(fn: (...a: number[]) => void, id: number, own: () => void, parts: readonly number[][], chunked = false): void {
    const gen = this.#next();
    const i32 = this.#i32;
    // a worker whose exit hook lowered READY since the last refresh gets no part
    if (this.#ready.some((s) => Atomics.load(i32, (s.index * SLOT_BYTES) / 4 + SLOT.READY) !== 1)) {
      for (const s of this.#ready) if (Atomics.load(i32, (s.index * SLOT_BYTES) / 4 + SLOT.READY) !== 1) this.#lost(s);
    }
    const used = this.#ready.slice(0, parts.length);
    const fault = this.#fault;
    this.#fault = null;
    used.forEach((s, w) => {
      const args = parts[w] as number[];
      if (args.length > MAX_ARGS) throw new Error(`threads: ${args.length} arguments (at most ${MAX_ARGS})`);
      const base = s.index * SLOT_BYTES;
      this.#f64.set(args, (base + ARGS_OFFSET) / 8);
      i32[base / 4 + SLOT.FN] = w === 0 && fault !== null ? FAULT_FN[fault] : id;
      i32[base / 4 + SLOT.NARGS] = args.length;
      i32[base / 4 + SLOT.MODE] = chunked ? 1 : 0;
      i32[base / 4 + SLOT.STATUS] = 0;
      Atomics.store(i32, base / 4 + SLOT.TICKET, gen);
      if (claimMode === "caller") return; // the worker is not woken: the caller claims its part below
      Atomics.store(i32, base / 4 + SLOT.SEQ, gen);
      Atomics.notify(i32, base / 4 + SLOT.SEQ);
    });
    this.stats.splitCalls++;
    const victim = fault !== null ? used[0] : undefined;
    if (fault === "terminate" && victim !== undefined && claimMode !== "caller") {
      // the worker claims its part and blocks in it; then this thread terminates it mid-part
      const ticket = (victim.index * SLOT_BYTES) / 4 + SLOT.TICKET;
      while (Atomics.load(i32, ticket) === gen) Atomics.wait(i32, ticket, gen, 1);
      victim.kill();
      victim.terminated = true;
    }
    let error: unknown;
    let failed = false;
    try {
      if (!chunked || claimMode !== "workers") own();
    } catch (e) {
      error = e;
      failed = true;
    }
    // Parts no worker has claimed yet (its thread not scheduled, or still waking) run here: on a busy
    // machine a split call then costs about what one thread does, instead of waiting for a core.
    const waitFor: Slot[] = [];
    used.forEach((s, w) => {
      if (claimMode === "workers" || Atomics.compareExchange(i32, (s.index * SLOT_BYTES) / 4 + SLOT.TICKET, gen, 0) !== gen) {
        waitFor.push(s);
        return;
      }
      if (failed || chunked) return; // chunked: own() took every chunk left
      try {
        fn(...(parts[w] as number[]));
      } catch (e) {
        error = e;
        failed = true;
      }
    });
    this.stats.workerParts += waitFor.length;
    const block = canBlock();
    for (const s of waitFor) {
      const base = (s.index * SLOT_BYTES) / 4;
      const done = base + SLOT.DONE;
      let spins = 0;
      let died = "";
      for (let v = Atomics.load(i32, done); v !== gen; v = Atomics.load(i32, done)) {
        // A dead worker never publishes DONE unless its exit hook did (checked first: v === gen).
        // Its READY word (lowered by the exit hook) or our own termination of it says it is gone:
        // a part it never claimed runs here; a part it claimed is lost with it.
        if (s.terminated || Atomics.load(i32, base + SLOT.READY) !== 1) {
          if (Atomics.load(i32, done) === gen) break;
          if (Atomics.compareExchange(i32, base + SLOT.TICKET, gen, 0) === gen) {
            this.stats.workerParts--;
            if (!failed) {
              try {
                if (chunked) own(); // the chunks nobody took yet
                else fn(...(parts[used.indexOf(s)] as number[]));
              } catch (e) {
                error = e;
                failed = true;
              }
            }
          } else {
            died = "was terminated during a kernel call";
          }
          const next = this.#lost(s);
          if (died !== "" && !failed) {
            error = new Error(`poolkit worker thread ${s.index + 1} ${died}: this call's results are lost; ${next}`);
            failed = true;
          }
          break;
        }
        // spin briefly (the parts are equal, so the worker is usually about done), then sleep
        if (block && ++spins > 2000) Atomics.wait(i32, done, v, 100);
      }
      if (died === "" && Atomics.load(i32, done) === gen && i32[base + SLOT.STATUS] !== 0) {
        const len = i32[base + SLOT.MSGLEN] as number;
        const at = (s.index * SLOT_BYTES + MSG_OFFSET) / 2;
        let text = "";
        for (let i = 0; i < Math.min(len, MSG_UNITS); i++) text += String.fromCharCode(this.#u16[at + i] as number);
        const status = i32[base + SLOT.STATUS];
        if (status === 2) text += `: this call's results are lost; ${this.#lost(s)}`;
        if (!failed) {
          error = new Error(`poolkit worker thread ${s.index + 1}: ${text}`);
          failed = true;
        }
      }
    }
    if (failed) throw error;
  }

  /** Stop every worker. */
  close(): void {
    this.#want = 0;
    while (this.#slots.length > 0) this.#stop(this.#slots.pop() as Slot);
  }
}

// ---------------------------------------------------------------------------------------------------
// Instances on shared memory

/** A kernels instance on a shared memory, with its (initially empty) pool. */
export interface SharedInstance {
  memory: WasmMemory;
  instance: WasmInstance;
  heap: LinearHeap;
  pool: ThreadPool;
}

/**
 * Instantiate the kernels on a new shared memory, or return null where the engine has no shared
 * memory (then the caller makes an ordinary one). The maximum is the whole 4 GiB where the engine can
 * reserve it, else the largest of 1 GiB / 256 MiB it accepts.
 */
export function sharedInstance(api: WasmApi, bytes: Uint8Array, initial: number): SharedInstance | null {
  if (!sharedMemorySupported()) return null;
  let memory: WasmMemory | undefined;
  for (const maximum of [MAX_PAGES, 16384, 4096]) {
    try {
      memory = new api.Memory({ initial, maximum, shared: true });
      break;
    } catch {
      // the engine cannot reserve this much address space: try less
    }
  }
  if (memory === undefined) return null;
  let module: object;
  let instance: WasmInstance;
  try {
    module = new api.Module(sharedModuleBytes(bytes));
    instance = new api.Instance(module, { env: { memory } });
  } catch {
    return null;
  }
  const names = Object.keys(instance.exports).filter((k) => typeof instance.exports[k] === "function");
  const zeroFill = instance.exports["zeroFill"] as (ptr: number, bytes: number) => void;
  return { memory, instance, heap: new LinearHeap({ memory, zeroFill }), pool: new ThreadPool(module, memory, names) };
}

// ---------------------------------------------------------------------------------------------------
// The thread count and the split

const pools = new Set<ThreadPool>();

/**
 * Cores this process may use: Node's `os.availableParallelism()` (reached through
 * `process.getBuiltinModule`, Node ≥ 20.16), else `navigator.hardwareConcurrency`, else 1 (unknown).
 */
function cores(): number {
  const os = g.process?.getBuiltinModule?.("node:os") as { availableParallelism?: () => number } | undefined;
  const n = os?.availableParallelism?.() ?? g.navigator?.hardwareConcurrency ?? 1;
  return Number.isInteger(n) && n > 0 ? n : 1;
}

/**
 * Node's default: 2 threads where the process has at least 2 cores — measured faster than 1 on W1–W3
 * forward (0.67–0.87× of 1 thread's time, on a 2-core machine under heavy load; the backward ties) —
 * see docs/backends.md, "Threads". Browsers: 1 (a page decides whether to spend a core, and threads
 * need cross-origin isolation anyway).
 */
function defaultThreads(): number {
  return isNode() && cores() >= 2 ? 2 : 1;
}

let wanted: number | undefined;

/** The thread count asked for (the default until `setThreads` is called). */
export function wantedThreads(): number {
  wanted ??= defaultThreads();
  return wanted;
}

/** Bring `pool` to the thread count asked for; the promise settles when its workers are ready. */
export function applyThreads(pool: ThreadPool | null): Promise<void> {
  if (pool === null) return Promise.resolve();
  pools.add(pool);
  return pool.resize(wantedThreads());
}

/**
 * Validate and record the thread count; stops the workers of every pool when it is 1 and returns the
 * active pool's readiness (`active` is the active backend's pool, null when it has none).
 */
export function requestThreads(n: number, active: ThreadPool | null): Promise<void> {
  if (typeof n !== "number" || !Number.isInteger(n)) throw new PoolkitTypeError("setThreads", `expected an integer thread count, got ${show(n)}`);
  if (n < 1 || n > MAX_THREADS) throw new PoolkitRangeError("setThreads", `expected 1 to ${MAX_THREADS} threads, got ${n}`);
  wanted = n;
  if (n === 1) for (const p of pools) p.close();
  return applyThreads(active);
}

/** A kernel call's work that pays for its split: below this many bytes per part, one thread is faster. */
let minPartBytes = 256 * 1024;

let callLimit = MAX_THREADS;

/**
 * Who may run a worker's part: "both" (the default: a worker, or the caller if it gets there first),
 * "workers" (the caller waits) or "caller" (no worker is woken; the caller runs every part through the
 * same claim path). @internal The last two exist so tests can check each path deterministically.
 */
export type ClaimMode = "both" | "workers" | "caller";
let claimMode: ClaimMode = "both";

/** @internal Tests: set who runs the workers' parts (see {@link ClaimMode}). */
export function setClaimMode(mode: ClaimMode): void {
  claimMode = mode;
}

/**
 * @internal The benchmark: use at most `n` threads per call while the workers stay up, so 1- and
 * 2-thread runs can be interleaved round by round (undefined: no limit).
 */
export function setCallThreadLimit(n: number | undefined): void {
  callLimit = n ?? MAX_THREADS;
}

/** @internal Tests: split every call, however small, into as many chunks as it has units (0), or restore the default. */
export function setMinPartBytes(bytes: number | undefined): void {
  minPartBytes = bytes ?? 256 * 1024;
}

/**
 * How a kernel call splits into independent parts: the argument holding the number of units (planes,
 * boxes, elements), the pointer arguments that advance by a fixed number of bytes per unit, per-part
 * scratch blocks, and the bytes one unit reads and writes (the work estimate). Every part is the same
 * export called on its own range of units — so a part's results are bit for bit what the whole call
 * computes for those units (max indices are in-plane, unaffected by the pointer offsets).
 */
export interface Split {
  readonly count: number;
  readonly step: readonly (readonly [arg: number, bytesPerUnit: number])[];
  readonly scratch?: readonly (readonly [arg: number, bytes: number])[];
  readonly bytes: number;
}

/** What {@link splitCall} needs of a backend. */
export interface SplitTarget {
  readonly heap: LinearHeap;
  readonly exports: object;
  readonly pool: ThreadPool | null;
}

/** Chunks per thread of a split call (at most; fewer when a chunk would drop under {@link minChunkBytes}). */
const CHUNKS_PER_THREAD = 4;
/** The least work of a chunk (bytes read and written), when that leaves at least one chunk per thread. */
const minChunkBytes = 64 * 1024;

/**
 * Call kernel export `name` with `args`, split over the pool's ready threads when the work is large
 * enough (else one call on this thread). The units are cut into up to {@link CHUNKS_PER_THREAD} chunks
 * per thread that the threads take in turn (threads-worker.ts, "Chunked parts"): a thread that starts
 * late — its core busy with another process, or still waking — takes fewer chunks instead of holding up
 * the call with a fixed share. Each thread has its own scratch blocks (the caller those in `args`, each
 * worker a fresh block), zeroed before every chunk.
 */
export function splitCall(b: SplitTarget, name: string, args: number[], split: Split): void {
  const exports = b.exports as Record<string, (...a: number[]) => void>;
  const fn = exports[name];
  if (fn === undefined) throw new Error(`threads: the kernels module has no export ${name}`);
  const pool = b.pool;
  const units = args[split.count] as number;
  const threads = pool === null ? 1 : Math.min(pool.threads, callLimit);
  let parts = Math.min(threads, units);
  if (minPartBytes > 0) parts = Math.min(parts, Math.floor((units * split.bytes) / minPartBytes));
  if (parts < 2 || pool === null) {
    fn(...args);
    return;
  }
  const scratch = split.scratch ?? [];
  const zeroFill = exports["zeroFill"] as (ptr: number, bytes: number) => void;
  // tests force every split (minPartBytes 0): then every unit may be a chunk of its own
  const byWork = minPartBytes > 0 ? Math.floor((units * split.bytes) / minChunkBytes) : units;
  const total = Math.max(parts, Math.min(units, parts * CHUNKS_PER_THREAD, byWork));
  const blocks: { free(): void }[] = [];
  try {
    const others: number[][] = [];
    for (let p = 1; p < parts; p++) {
      const a = args.slice();
      for (const [i, bytes] of scratch) {
        const s = b.heap.allocate("float32", Math.max(1, Math.ceil(bytes / 4)), true);
        if (s === null) throw new PoolkitRangeError("wasm backend", `out of WebAssembly memory for a thread's ${bytes}-byte scratch block`);
        blocks.push(s);
        a[i] = s.ptr;
      }
      others.push(a);
    }
    pool.setChunks(units, total, split.count, split.step, scratch);
    const a = args.slice();
    const own = (): void => {
      for (let k = pool.takeChunk(); k >= 0; k = pool.takeChunk()) {
        const lo = Math.floor((k * units) / total);
        const hi = Math.floor(((k + 1) * units) / total);
        for (let i = 0; i < args.length; i++) a[i] = args[i] as number;
        a[split.count] = hi - lo;
        for (const [i, bytes] of split.step) a[i] = (args[i] as number) + lo * bytes;
        for (const [i, bytes] of scratch) zeroFill(args[i] as number, bytes);
        fn(...a);
      }
    };
    pool.run(fn, pool.id(name), own, others, true);
  } finally {
    for (const s of blocks) s.free();
  }
}

/**
 * @internal Kernels that split their own work (the matrix core): the threads a call may use now — the
 * pool's ready threads within the benchmark's {@link setCallThreadLimit} — and whether tests force
 * every split ({@link setMinPartBytes}(0)).
 */
export function callThreads(pool: ThreadPool | null): { threads: number; force: boolean } {
  return { threads: pool === null ? 1 : Math.min(pool.threads, callLimit), force: minPartBytes === 0 };
}
