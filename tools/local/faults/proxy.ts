/**
 * A fault-injecting HTTP proxy in front of one local AWS server (dynalite, a fauxqs server or the local
 * Step Functions endpoint). It makes calls fail the way AWS calls fail on the wire, per API action (the
 * x-amz-target header of the AWS JSON protocol): a reset connection, an error answer in the service's
 * own shape, a request never answered, a slow one, and above all an answer lost after the service did
 * the work, which is what exactly-once has to survive.
 *
 *   const proxy = await startFaultProxy({ target: dynamo.endpoint, service: 'dynamodb' });
 *   proxy.rules.once('PutItem', { mode: 'lose-answer', then: 'error' }); // written, then answered 500
 *
 * Requests that no rule breaks are forwarded unchanged and their answers streamed back.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { IDLE_KEEP_ALIVE_MS } from '../emulators/keep-alive.js';
import { localOnly } from '../emulators/local-only.js';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { errorAnswer, type ErrorAnswer, type ErrorSpec, type FaultService } from './errors.js';
import { endToEnd, readAll, send, upstreamFor, type OutgoingRequest } from './http.js';
import { FaultRuleSet, faultRuleSpecsSchema, type FaultRule, type FaultRuleSpec, type RequestInfo, type RuleState } from './rules.js';
import { FaultStats, type FaultRecord } from './stats.js';

export { errorAnswer, type ErrorSpec, type FaultService } from './errors.js';
export { faultRuleSpecSchema, faultRuleSpecsSchema, type FaultMode, type FaultRule, type FaultRuleSpec, type RuleState } from './rules.js';
export type { AbandonedRecord, ActionStats, FaultRecord, StatsSnapshot } from './stats.js';

export interface FaultProxyOptions {
  /** The server to protect, e.g. http://127.0.0.1:PORT. */
  readonly target: string;
  /** Picks the error shapes of error answers. */
  readonly service: FaultService;
  /** For logs and messages; defaults to the service. */
  readonly name?: string;
  /** Seeds the rules' PRNGs (each rule derives its own unless it has a seed). Default 1. */
  readonly seed?: number;
  /** Keep the body of each faulted request in its log record (e.g. to see which batch entries were applied). */
  readonly logBodies?: boolean;
  /** Called with each fault once complete (for lose-answer and delay, after the target answered). */
  readonly onFault?: (record: FaultRecord) => void;
}

/** The read side of the stats (the proxy alone counts). */
export type FaultStatsView = Pick<FaultStats, 'action' | 'faults' | 'snapshot' | 'reset' | 'abandoned'>;

export interface FaultRules {
  /** Appends a rule (validated; throws on a bad one) and returns its id. */
  add(rule: FaultRule): string;
  /** The next matching request of these actions only, e.g. `once('PutItem', { mode: 'lose-answer', then: 'error' })`. */
  once(actions: string | readonly string[], fault: FaultRule): string;
  /** Rules in their JSON form (a scenario file's), validated as a whole before any is added. */
  addAll(specs: unknown): string[];
  /** Removes a rule and cuts the requests it holds hung. */
  remove(id: string): boolean;
  /** Removes every rule and cuts every hung request. */
  clear(): void;
  list(): RuleState[];
}

export interface FaultProxy {
  /** http://127.0.0.1:<port>: give this to the client instead of the target. */
  readonly endpoint: string;
  readonly target: string;
  readonly service: FaultService;
  readonly name: string;
  readonly rules: FaultRules;
  readonly stats: FaultStatsView;
  /** Requests held hung right now. */
  hung(): number;
  /**
   * Takes the proxy down (it stops listening: new connections are refused, ECONNREFUSED, which callers
   * can tell from a request that may have arrived) or brings it back on the same port. Requests already
   * in flight finish and their connections close; idle keep-alive connections are closed at once.
   */
  setDown(down: boolean): Promise<void>;
  /** True while down. */
  readonly down: boolean;
  /** When the proxy was down (epoch ms; `to` absent while it still is). */
  downPeriods(): Array<{ readonly from: number; readonly to?: number }>;
  /** Resolves when no forward or delay is in flight (hung requests do not count). */
  settled(): Promise<void>;
  /** Cuts every connection, hung ones included, and closes the server. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const NO_ACTION = '(none)';

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = upstreamFor(options.target);
  const service = options.service;
  const name = options.name ?? service;
  const logBodies = options.logBodies ?? false;
  const rules = new FaultRuleSet(options.seed ?? 1);
  const stats = new FaultStats(options.onFault);
  const held = new Map<string, Set<Socket>>(); // rule id -> sockets it keeps hung
  const inFlight = new Set<Promise<void>>();
  const sleepers = new Set<() => void>(); // wake-ups of pending delays, called by stop()
  let stopped = false;
  let down = false;
  const periods: Array<{ from: number; to?: number }> = [];

  const hold = (ruleId: string, socket: Socket) => {
    let sockets = held.get(ruleId);
    if (!sockets) held.set(ruleId, (sockets = new Set()));
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const release = (ruleId: string) => {
    for (const socket of held.get(ruleId) ?? []) socket.destroy();
    held.delete(ruleId);
  };
  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  /** Resolves true after ms, or false at once if the proxy stops first. */
  const sleep = (ms: number) =>
    new Promise<boolean>((resolve) => {
      const wake = () => (clearTimeout(timer), sleepers.delete(wake), resolve(false));
      const timer = setTimeout(() => (sleepers.delete(wake), resolve(true)), ms);
      sleepers.add(wake);
    });

  /** While a connection refusal is armed, answers close their socket so keep-alive clients reconnect into it. */
  const closing = (headers: string[]) => (down || rules.refusesConnections() ? [...headers, 'connection', 'close'] : headers);

  const answer = (res: ServerResponse, error: ErrorAnswer) => {
    res.writeHead(error.status, closing(Object.entries(error.headers).flat()));
    res.end(error.body);
  };

  const complete = (record: FaultRecord, status: number | undefined) => {
    if (status !== undefined) record.targetStatus = status;
    record.applied = status !== undefined && status >= 200 && status < 300;
    stats.report(record);
  };

  /**
   * Forwards and streams the answer back; a target that fails mid-way cuts the caller's socket. A caller
   * that hung up before its answer was written (its own request timeout) is logged as abandoned, with
   * the target's status: no fault of the proxy's, but the same ambiguity as a lost answer.
   */
  async function pass(req: IncomingMessage, res: ServerResponse, outgoing: OutgoingRequest, action: string, record?: FaultRecord) {
    stats.forwarded(action);
    let callerGone = false;
    const gone = () => {
      if (!res.writableFinished) callerGone = true;
    };
    req.socket.once('close', gone);
    const abandoned = (status: number | undefined) =>
      stats.abandon({
        action,
        ...(status === undefined ? {} : { targetStatus: status }),
        applied: status !== undefined && status >= 200 && status < 300,
        ...(logBodies ? { body: outgoing.body.toString('utf8') } : {}),
      });
    let answerFromTarget: IncomingMessage;
    try {
      answerFromTarget = await send(upstream, outgoing);
    } catch {
      req.socket.off('close', gone);
      if (record) complete(record, undefined);
      req.socket.destroy(); // as the caller would see the target's own failure
      return;
    }
    if (record) complete(record, answerFromTarget.statusCode);
    if (callerGone || req.socket.destroyed) {
      req.socket.off('close', gone);
      abandoned(answerFromTarget.statusCode);
      answerFromTarget.resume();
      return;
    }
    res.writeHead(answerFromTarget.statusCode ?? 502, answerFromTarget.statusMessage, closing(endToEnd(answerFromTarget.rawHeaders)));
    await pipeline(answerFromTarget, res).catch(() => req.socket.destroy());
    req.socket.off('close', gone);
    if (callerGone) abandoned(answerFromTarget.statusCode);
  }

  /** Lets the target do the work, reads its whole answer, and withholds it. */
  async function loseAnswer(
    req: IncomingMessage,
    res: ServerResponse,
    outgoing: OutgoingRequest,
    action: string,
    record: FaultRecord,
    rule: { id: string; then: 'reset' | 'hang' | 'error'; error?: ErrorSpec },
  ) {
    stats.forwarded(action);
    let status: number | undefined;
    try {
      const answerFromTarget = await send(upstream, outgoing);
      await readAll(answerFromTarget);
      status = answerFromTarget.statusCode;
    } catch {
      // The target failed on its own: there was nothing to lose, the caller still gets what the rule says.
    }
    complete(record, status);
    if (rule.then === 'reset') req.socket.destroy();
    else if (rule.then === 'hang') hold(rule.id, req.socket);
    else answer(res, errorAnswer(service, rule.error ?? 'internal'));
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.slice(target.indexOf('.') + 1) || NO_ACTION;
    const body = await readAll(req);
    stats.seen(action);
    let parsed: { value: unknown } | undefined;
    const info: RequestInfo = {
      action,
      target,
      headers: req.headers,
      body() {
        if (!parsed) {
          try {
            parsed = { value: JSON.parse(body.toString('utf8')) };
          } catch {
            parsed = { value: undefined };
          }
        }
        return parsed.value;
      },
    };
    const outgoing: OutgoingRequest = { method: req.method ?? 'POST', path: req.url ?? '/', rawHeaders: req.rawHeaders, body };
    const decision = rules.decide(info);
    if (!decision) {
      stats.passed(action);
      return track(pass(req, res, outgoing, action));
    }
    const rule: FaultRuleSpec = decision.rule;
    const record = stats.fault({
      action,
      mode: rule.mode,
      ruleId: decision.id,
      ...(rule.name ? { ruleName: rule.name } : {}),
      ...(rule.mode === 'lose-answer' ? { then: rule.then ?? 'reset' } : {}),
      ...(logBodies ? { body: body.toString('utf8') } : {}),
    });
    switch (rule.mode) {
      case 'refuse':
        stats.report(record);
        req.socket.destroy();
        return;
      case 'error':
        stats.report(record);
        return answer(res, errorAnswer(service, rule.error ?? 'internal'));
      case 'hang':
        stats.report(record);
        return hold(decision.id, req.socket);
      case 'delay':
        // Forwarded even if the caller gave up meanwhile: a slow network still delivers the request late.
        return track(sleep(rule.ms).then((awake) => (awake ? pass(req, res, outgoing, action, record) : void req.socket.destroy())));
      case 'lose-answer':
        return track(
          loseAnswer(req, res, outgoing, action, record, {
            id: decision.id,
            then: rule.then ?? 'reset',
            ...(rule.error ? { error: rule.error } : {}),
          }),
        );
    }
  }

  // Guarded as the server behind it is (a page refused there must not get through here).
  const server = createServer(
    localOnly((req, res) => {
      handle(req, res).catch(() => req.socket.destroy());
    }),
  );
  // AWS endpoints keep idle connections far longer than Node's 5 s default; a client that waited out a
  // backoff of more than 5 s would otherwise meet a socket closed under it (a reset no service sent).
  server.keepAliveTimeout = IDLE_KEEP_ALIVE_MS;
  server.on('connection', (socket: Socket) => {
    const decision = rules.decideConnection();
    stats.connection(decision !== undefined);
    if (!decision) return;
    const record = stats.fault({
      action: '(connection)',
      mode: 'refuse',
      ruleId: decision.id,
      ...(decision.rule.name ? { ruleName: decision.rule.name } : {}),
    });
    stats.report(record);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://${HOST}:${port}`;

  const ruleApi: FaultRules = {
    add(rule) {
      const id = rules.add(rule);
      // Idle keep-alive sockets would let clients go on as if nothing were refused.
      if (rule.mode === 'refuse' && rule.at === 'connection') server.closeIdleConnections();
      return id;
    },
    once(actions, fault) {
      return ruleApi.add({ ...fault, actions: typeof actions === 'string' ? [actions] : [...actions], times: 1 } as FaultRule);
    },
    addAll(specs) {
      return faultRuleSpecsSchema.parse(specs).map((spec) => ruleApi.add(spec));
    },
    remove(id) {
      release(id);
      return rules.remove(id);
    },
    clear() {
      rules.clear();
      for (const id of [...held.keys()]) release(id);
    },
    list: () => rules.list(),
  };

  return {
    endpoint,
    target: options.target,
    service,
    name,
    rules: ruleApi,
    stats,
    hung: () => [...held.values()].reduce((n, sockets) => n + sockets.size, 0),
    get down() {
      return down;
    },
    downPeriods: () => periods.map((p) => ({ ...p })),
    async setDown(value) {
      if (stopped || value === down) return;
      down = value;
      if (value) {
        periods.push({ from: Date.now() });
        // Stops listening at once; in-flight requests finish (their answers say connection: close).
        server.close();
        server.closeIdleConnections();
        return;
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, HOST, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const last = periods.at(-1);
      if (last) last.to = Date.now();
    },
    async settled() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      ruleApi.clear();
      for (const wake of [...sleepers]) wake();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      upstream.agent.destroy();
    },
  };
}
