/**
 * One in-process target's fuzzing loop, in a worker thread so that the parent can stop it when an
 * input hangs (terminate() interrupts even a loop that never yields) and see it die when an input
 * blows the heap limit. The current input's number is published in shared memory before each run:
 * whatever happens, the parent knows which input did it and makes it again from its seed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { loadCorpus } from './corpus.js';
import { Rng, inputSeed } from './mutate.js';
import { FuzzFailure, targetByName } from './targets.js';

export interface WorkerData {
  target: string;
  seed: number;
  /** First input number. */
  from: number;
  /** Stop before this input number. */
  to: number;
  /** Stop at this time (Date.now() milliseconds). */
  deadline: number;
  /** Int32Array over a SharedArrayBuffer: [0] the input now running, [1] 1 while one runs. */
  progress: SharedArrayBuffer;
  /** Heap in use after an input beyond which the input is a memory blow-up. */
  heapLimitBytes: number;
}

export type WorkerMessage =
  | { type: 'ready'; loadMs: number }
  | { type: 'progress'; done: number }
  | { type: 'failure'; input: number; kind: 'crash' | 'memory' | 'leak' | 'output'; message: string; stack: string }
  | { type: 'finished'; done: number };

const data = workerData as WorkerData;
const port = parentPort!;
const post = (m: WorkerMessage): void => port.postMessage(m);
const target = targetByName(data.target);
if (target === undefined) throw new Error(`no fuzz target '${data.target}'`);
const t0 = performance.now();
const corpus = loadCorpus();
post({ type: 'ready', loadMs: performance.now() - t0 });
const progress = new Int32Array(data.progress);
let done = 0;
let lastReport = Date.now();
for (let i = data.from; i < data.to; i++) {
  const now = Date.now();
  if (now >= data.deadline) break;
  if (now - lastReport >= 500) {
    post({ type: 'progress', done });
    lastReport = now;
  }
  Atomics.store(progress, 0, i);
  Atomics.store(progress, 1, 1);
  try {
    const input = target.make(corpus, new Rng(inputSeed(data.seed, data.target, i)));
    target.exec(input);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    post({ type: 'failure', input: i, kind: e instanceof FuzzFailure ? e.kind : 'crash', message: err.message, stack: err.stack ?? '' });
  }
  Atomics.store(progress, 1, 0);
  done++;
  if ((done & 63) === 0 && getHeapStatistics().used_heap_size > data.heapLimitBytes) {
    // Something kept memory across inputs: collect what can be and look again before blaming it.
    (globalThis as { gc?: () => void }).gc?.();
    if (getHeapStatistics().used_heap_size > data.heapLimitBytes) {
      post({ type: 'failure', input: i, kind: 'memory', message: `heap in use ${(getHeapStatistics().used_heap_size / 1048576).toFixed(0)} MiB after input ${i}`, stack: '' });
      break;
    }
  }
}
post({ type: 'finished', done });
