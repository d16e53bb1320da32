/**
 * A simulated process: its own runtime (clock, timers, random), a disk, a transport, and a life
 * cycle of pauses, crashes and restarts driven by the simulation.
 *
 * @module
 */
import type { Disposable } from '../core/events.js';
import { disposable } from '../core/events.js';
import { assert } from '../core/assert.js';
import { rangeError } from '../core/validate.js';
import { SimDisk } from './disk.js';
import type { SimDiskOptions } from './disk.js';
import { SimClock, SimTimers } from './runtime.js';
import type { SimClockOptions, SimRuntime } from './runtime.js';
import type { Scheduler } from './scheduler.js';
import type { Trace } from './trace.js';

/** A message as delivered to a node. */
export interface Envelope<T = unknown> {
  /** Unique per run; a duplicated delivery keeps its original's id. */
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly payload: T;
  /** Virtual time it was sent at (true time, ms). */
  readonly sentAtMs: number;
}

/** Receives messages. */
export type MessageHandler<T = unknown> = (message: Envelope<T>) => void;

/**
 * The message-passing seam production code can take: the simulator gives each node one, and a
 * real deployment implements it over sockets.
 */
export interface Transport<T = unknown> {
  /** This endpoint's address. */
  readonly self: string;
  /** Sends `payload` to `to`; fire and forget (the network may lose, delay or duplicate it). */
  send(to: string, payload: T): void;
  /** Registers a handler for incoming messages; dispose it to unregister. */
  onMessage(handler: MessageHandler<T>): Disposable;
}

/** Where a node is in its life cycle. */
export type NodeState = 'running' | 'paused' | 'crashed';

/** A function run on (re)start; it rebuilds the node's volatile state from its disk. */
export type StartFunction = (node: Node) => void | Promise<void>;

/** Options of a simulated node. */
export interface NodeOptions extends SimClockOptions {
  /** The node's disk (fsync latency, key bound). */
  disk?: SimDiskOptions;
  /**
   * Upper bound on messages and completions queued while the node is paused (default 10,000);
   * past it, new arrivals are dropped (traced as `drop` with reason `inbox-full`).
   */
  maxInbox?: number;
}

/** What a node needs from its simulation (kept narrow to avoid a dependency cycle). */
export interface NodeHost {
  readonly scheduler: Scheduler;
  readonly trace: Trace;
  transmit(from: Node, to: string, payload: unknown): void;
  registerRuntime(runtime: SimRuntime): void;
  fail(error: unknown): void;
}

const MAX_HANDLERS = 64;

/**
 * A simulated process. Create it with `sim.node(name)`; register a start function with
 * {@link Node.start} so that restarts can rebuild it.
 */
export class Node {
  /** The node's address. */
  readonly name: string;
  /** Dense index, for the network's tables. */
  readonly index: number;
  /** The node's disk; survives crashes (synced writes only). */
  readonly disk: SimDisk;
  /** The node's clock; keeps running through pauses and crashes. */
  readonly clock: SimClock;
  /** @internal True while the network isolates the node. */
  isolated = false;
  /** @internal The Byzantine interceptor of outgoing messages, if any. */
  interceptor: unknown = undefined;
  private readonly host: NodeHost;
  private readonly maxInbox: number;
  private currentRuntime: SimRuntime;
  private currentTransport: Transport;
  private lifeState: NodeState = 'running';
  private gen = 0;
  private handlers: MessageHandler[] = [];
  private startFn: StartFunction | undefined;
  private queuedFns: ((arg: never) => void)[] = [];
  private queuedArgs: unknown[] = [];
  private queueHead = 0;
  private draining = false;
  private drainToken = 0;
  private pauseToken = 0;
  private pauseEndMs = 0;
  private readonly gateFn = (fn: () => void): void => void this.gate(callThunk, fn);

  /** @internal Created by the simulation. */
  constructor(host: NodeHost, name: string, index: number, options: NodeOptions = {}) {
    const { disk, maxInbox, ...clockOptions } = options;
    this.host = host;
    this.name = name;
    this.index = index;
    this.maxInbox = maxInbox ?? 10_000;
    if (!Number.isInteger(this.maxInbox) || this.maxInbox < 0) {
      throw rangeError('maxInbox', 'an integer >= 0', this.maxInbox);
    }
    this.clock = new SimClock(host.scheduler, clockOptions);
    this.disk = new SimDisk(host.scheduler, this.gateFn, disk);
    this.currentRuntime = this.makeRuntime();
    this.currentTransport = this.makeTransport();
  }

  /** The runtime of the current incarnation; a restart replaces it. Pass it to production code. */
  get runtime(): SimRuntime {
    return this.currentRuntime;
  }

  /** The transport of the current incarnation; a stale one (before a crash) sends nothing. */
  get transport(): Transport {
    return this.currentTransport;
  }

  /** Incremented by every crash: a continuation that captured an older value is stale. */
  get generation(): number {
    return this.gen;
  }

  /** Running, paused or crashed. */
  get state(): NodeState {
    return this.lifeState;
  }

  /** Messages and completions waiting for the end of a pause. */
  get queued(): number {
    return this.queuedFns.length - this.queueHead;
  }

  /**
   * Registers the function that builds the node's volatile state and runs it now (as an event at
   * the current virtual time). {@link Node.restart} runs it again after a crash.
   */
  start(fn: StartFunction): void {
    assert(this.startFn === undefined, `node ${this.name} already has a start function`);
    this.startFn = fn;
    this.scheduleStart();
  }

  /** Registers a message handler of the current incarnation (a crash removes it). */
  onMessage<T = unknown>(handler: MessageHandler<T>): Disposable {
    if (this.handlers.length >= MAX_HANDLERS) {
      throw rangeError('message handlers', `at most ${MAX_HANDLERS}`, this.handlers.length + 1);
    }
    const h = handler as MessageHandler;
    this.handlers = [...this.handlers, h];
    const gen = this.gen;
    return disposable(() => {
      if (gen === this.gen) this.handlers = this.handlers.filter((x) => x !== h);
    });
  }

  /** Sends a message from this node (its current incarnation). */
  send(to: string, payload: unknown): void {
    this.currentTransport.send(to, payload);
  }

  /** True when `generation` is this node's current one and the node has not crashed. */
  isCurrent(generation: number): boolean {
    return generation === this.gen && this.lifeState !== 'crashed';
  }

  /**
   * A process pause (a GC pause, SIGSTOP) of `ms` virtual ms: nothing runs on the node, its
   * timers and incoming messages wait, its clock keeps moving. Pausing a paused node extends the
   * pause to whichever ends later; a crashed node ignores it.
   */
  pause(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw rangeError('ms', 'a finite number >= 0', ms);
    if (this.lifeState === 'crashed') return;
    const { scheduler, trace } = this.host;
    const endMs = scheduler.nowMs + ms;
    if (this.lifeState === 'running') {
      this.lifeState = 'paused';
      this.currentRuntime.timers.pause();
    } else if (endMs <= this.pauseEndMs) {
      return;
    }
    this.pauseEndMs = endMs;
    const token = ++this.pauseToken;
    if (trace.active)
      trace.add(scheduler.nowMs, 'pause', this.name, undefined, undefined, undefined, ms);
    scheduler.post(endMs, resumeIfCurrent, { node: this, token });
  }

  /** @internal Ends the pause that `token` started, unless a later pause or a crash superseded it. */
  endPause(token: number): void {
    if (token === this.pauseToken) this.resume();
  }

  /**
   * Ends a pause now: queued messages and completions run in arrival order, one per event, before
   * anything that arrives later; due timers fire too.
   */
  resume(): void {
    if (this.lifeState !== 'paused') return;
    this.pauseToken++;
    this.lifeState = 'running';
    const { scheduler, trace } = this.host;
    if (trace.active) trace.add(scheduler.nowMs, 'resume', this.name);
    if (this.queuedFns.length > 0) this.startDrain();
    this.currentRuntime.timers.resume();
  }

  /**
   * A crash: timers, handlers, queued messages and unsynced disk writes are lost, the generation
   * increments, and messages arriving until {@link Node.restart} are dropped.
   */
  crash(): void {
    if (this.lifeState === 'crashed') return;
    this.lifeState = 'crashed';
    this.gen++;
    this.pauseToken++;
    this.currentRuntime.timers.close();
    this.handlers = [];
    this.queuedFns = [];
    this.queuedArgs = [];
    this.queueHead = 0;
    this.draining = false;
    this.drainToken++;
    this.disk.crash();
    const { scheduler, trace } = this.host;
    if (trace.active)
      trace.add(scheduler.nowMs, 'crash', this.name, undefined, undefined, undefined, this.gen);
  }

  /**
   * Starts a new incarnation: a fresh runtime (same clock and disk) and the start function again.
   * A running or paused node crashes first.
   */
  restart(): void {
    if (this.lifeState !== 'crashed') this.crash();
    this.lifeState = 'running';
    this.currentRuntime = this.makeRuntime();
    this.currentTransport = this.makeTransport();
    const { scheduler, trace } = this.host;
    if (trace.active)
      trace.add(scheduler.nowMs, 'restart', this.name, undefined, undefined, undefined, this.gen);
    this.scheduleStart();
  }

  /**
   * @internal Runs `fn(arg)` on this node: now when running, after the pause when paused, never
   * once crashed. Returns false when it was dropped.
   */
  gate<A>(fn: (arg: A) => void, arg: A): boolean {
    if (this.lifeState === 'running' && !this.draining) {
      fn(arg);
      return true;
    }
    if (this.lifeState === 'crashed' || this.queued >= this.maxInbox) return false;
    this.queuedFns.push(fn as (arg: never) => void);
    this.queuedArgs.push(arg);
    return true;
  }

  private startDrain(): void {
    this.draining = true;
    const { scheduler } = this.host;
    scheduler.post(scheduler.nowMs, drainOne, { node: this, token: ++this.drainToken });
  }

  /** @internal Runs the oldest queued item, then schedules the next one (one per event). */
  drainNext(token: number): void {
    if (token !== this.drainToken) return;
    if (this.lifeState !== 'running') {
      // Paused again (or crashed): resume() starts a new drain.
      this.draining = false;
      return;
    }
    const i = this.queueHead++;
    const fn = this.queuedFns[i] as (arg: unknown) => void;
    const arg = this.queuedArgs[i];
    this.queuedFns[i] = noopItem;
    this.queuedArgs[i] = undefined;
    if (this.queueHead === this.queuedFns.length) {
      this.queuedFns = [];
      this.queuedArgs = [];
      this.queueHead = 0;
      this.draining = false;
    } else {
      if (this.queueHead >= 1024 && this.queueHead * 2 >= this.queuedFns.length)
        this.compactQueue();
      const { scheduler } = this.host;
      scheduler.post(scheduler.nowMs, drainOne, { node: this, token });
    }
    fn(arg);
  }

  private compactQueue(): void {
    this.queuedFns = this.queuedFns.slice(this.queueHead);
    this.queuedArgs = this.queuedArgs.slice(this.queueHead);
    this.queueHead = 0;
  }

  /** @internal Hands a delivered message to the handlers; returns false when the node dropped it. */
  receive(message: Envelope): boolean {
    return this.gate(this.dispatch, message);
  }

  private readonly dispatch = (message: Envelope): void => {
    const { trace } = this.host;
    if (trace.active) {
      trace.add(
        this.host.scheduler.nowMs,
        'deliver',
        this.name,
        message.from,
        message.to,
        message.id,
      );
    }
    const handlers = this.handlers;
    for (let i = 0; i < handlers.length; i++) (handlers[i] as MessageHandler)(message);
  };

  private scheduleStart(): void {
    const { scheduler } = this.host;
    const gen = this.gen;
    scheduler.post(
      scheduler.nowMs,
      () => {
        if (gen !== this.gen) return;
        this.gate(runStart, this);
      },
      undefined,
    );
  }

  /** @internal Runs the start function of the current incarnation. */
  runStartFunction(): void {
    const fn = this.startFn;
    if (fn === undefined) return;
    let result: void | Promise<void>;
    try {
      result = fn(this);
    } catch (error) {
      this.host.fail(error);
      return;
    }
    if (result instanceof Promise) result.catch((error: unknown) => this.host.fail(error));
  }

  private makeRuntime(): SimRuntime {
    const { scheduler, trace } = this.host;
    const onFire = trace.timers ? () => trace.add(scheduler.nowMs, 'timer', this.name) : undefined;
    const timers = new SimTimers(scheduler, this.clock, onFire === undefined ? {} : { onFire });
    const random = scheduler.random.fork(`node:${this.name}#${this.gen}`);
    const runtime: SimRuntime = { clock: this.clock, timers, random };
    this.host.registerRuntime(runtime);
    return runtime;
  }

  private makeTransport(): Transport {
    const gen = this.gen;
    return {
      self: this.name,
      send: (to: string, payload: unknown): void => {
        if (gen !== this.gen || this.lifeState === 'crashed') return;
        this.host.transmit(this, to, payload);
      },
      onMessage: <T>(handler: MessageHandler<T>): Disposable => {
        if (gen !== this.gen) return disposable(() => undefined);
        return this.onMessage(handler);
      },
    };
  }
}

function callThunk(fn: () => void): void {
  fn();
}

function runStart(node: Node): void {
  node.runStartFunction();
}

function noopItem(): void {}

function drainOne(arg: { node: Node; token: number }): void {
  arg.node.drainNext(arg.token);
}

function resumeIfCurrent(arg: { node: Node; token: number }): void {
  arg.node.endPause(arg.token);
}
