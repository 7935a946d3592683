/**
 * The state machine as a graph, laid out for the console: one box per state of the definition (the
 * same object DescribeStateMachine returns, so the same graph as on AWS), edges for Next, Default,
 * Choices and Catch, and Map / Parallel states as boxes that hold their inner states (a Parallel's
 * branches side by side). No AWS import, no DOM: the page only draws what this returns.
 *
 * The layout is a plain layered one, per (sub-)machine:
 *   1. depth-first from StartAt; an edge back to a state on the current path is a back edge (a loop);
 *   2. layers by longest path over the forward edges, each layer at most LAYER_BUDGET wide (a state that
 *      does not fit goes one layer down), so that wide fans of end states wrap instead of stretching;
 *   3. a thin placeholder in every layer an edge crosses, so edges run between boxes, not through them;
 *   4. order within each layer by the mean position of the neighbours (a few sweeps down and up);
 *   5. x by the mean of the neighbours' centres, pushed apart to keep the order and the gaps.
 * Back edges are drawn around the right side.
 *
 * The layout works on a LayoutMachine, not on ASL: layoutDefinition lays out the whole definition, and
 * graph-view.ts lays out a view of it (Map and Parallel states collapsed into blocks, states never entered
 * left out) through the same code.
 */

export type EdgeKind = 'next' | 'default' | 'choice' | 'catch';

/** What a Map or Parallel state drawn as one block says about what ran inside it (graph-view.ts). */
export interface BlockSummary {
  /** The worst outcome of the state and of every state inside it ('not-entered' if it was not entered). */
  readonly outcome: string;
  /** Map: iterations started; Parallel: branches in which a state was entered. */
  readonly runs: number;
  /** Parallel: how many branches it has. */
  readonly branches?: number;
  /** Parallel: branches by their worst outcome; Map: the states entered inside, by outcome. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Retries of the states inside. */
  readonly retries: number;
  /** One line for the block: "3 iterations · 1 state caught". */
  readonly text: string;
}

export interface GraphNode {
  readonly name: string;
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  /** The name, cut into lines that fit the box. */
  readonly lines: string[];
  /** Map and Parallel: the box holds inner states. */
  readonly container: boolean;
  /** The Map or Parallel state this one is inside. */
  readonly parent?: string;
  /** A Map or Parallel state drawn as one block, its inner states left out (graph-view.ts). */
  readonly collapsed?: boolean;
  readonly summary?: BlockSummary;
  /** A block's summary, cut into lines that fit the box. */
  readonly summaryLines?: string[];
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly kinds: EdgeKind[];
  /** Polyline from the source's bottom to the target's top (a back edge: right side to right side). */
  readonly points: Array<[number, number]>;
  readonly back: boolean;
  /** States left out of the view that the definition's path from `from` to `to` goes through. */
  readonly skipped?: string[];
}

/** A branch of a Parallel state: a dashed box around its states. */
export interface GraphBranch {
  readonly parent: string;
  readonly index: number;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface GraphLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: GraphNode[];
  readonly edges: GraphEdge[];
  readonly branches: GraphBranch[];
}

export interface AslState {
  Type?: string;
  Next?: string;
  Default?: string;
  End?: boolean;
  Choices?: Array<{ Next?: string }>;
  Catch?: Array<{ Next?: string; ErrorEquals?: string[] }>;
  Branches?: AslMachine[];
  Iterator?: AslMachine;
  ItemProcessor?: AslMachine;
}

export interface AslMachine {
  StartAt?: string;
  States?: Record<string, AslState>;
}

/** A machine as the layout sees it: states, their edges, and what each one holds. */
export interface LayoutMachine {
  readonly startAt?: string;
  readonly states: Readonly<Record<string, LayoutState>>;
}

export interface LayoutState {
  readonly type: string;
  readonly edges: ReadonlyArray<{ readonly to: string; readonly kinds: EdgeKind[]; readonly skipped?: string[] }>;
  /** A Map's inner machine (one), a Parallel's branches; absent for other states and collapsed blocks. */
  readonly machines?: readonly LayoutMachine[];
  /** Drawn as one block (a collapsed Map or Parallel). */
  readonly block?: BlockSummary;
}

/** The inner machines of a Map or Parallel state, as the layout holds them. */
export function innerMachines(state: AslState): AslMachine[] {
  const inner = state.ItemProcessor ?? state.Iterator;
  if (state.Type === 'Map' && inner) return [inner];
  if (state.Type === 'Parallel' && state.Branches?.length) return state.Branches;
  return [];
}

/** The whole definition as a LayoutMachine: every state, every container open. */
export function fromDefinition(machine: AslMachine): LayoutMachine {
  const states: Record<string, LayoutState> = {};
  for (const [name, state] of Object.entries(machine.States ?? {})) {
    const inner = innerMachines(state);
    states[name] = { type: state.Type ?? '?', edges: stateEdges(state), ...(inner.length ? { machines: inner.map(fromDefinition) } : {}) };
  }
  return { ...(machine.StartAt !== undefined ? { startAt: machine.StartAt } : {}), states };
}

export const SIZES = {
  leafW: 164,
  leafH: 40,
  pad: 12,
  gapX: 14,
  gapY: 28,
  header: 26,
  dummyW: 4,
  /** A collapsed Map or Parallel: a leaf's width, room for its kind, two lines of name and two of summary. */
  blockH: 70,
  /** Characters per line of a block's summary (10px). */
  summaryChars: 28,
  /** Characters per line of a state's name (11px sans-serif in a 164px box). */
  lineChars: 24,
  /** How wide a layer may grow before a state goes one layer down: three boxes. */
  layerBudget: 3 * 164 + 2 * 14,
} as const;

/** Every state of a definition, at every nesting level (names are unique across a definition, as AWS requires). */
export function allStates(machine: AslMachine): Array<{ name: string; state: AslState; parent?: string }> {
  const found: Array<{ name: string; state: AslState; parent?: string }> = [];
  const visit = (m: AslMachine | undefined, parent?: string) => {
    for (const [name, state] of Object.entries(m?.States ?? {})) {
      found.push({ name, state, ...(parent ? { parent } : {}) });
      for (const branch of state.Branches ?? []) visit(branch, name);
      visit(state.ItemProcessor ?? state.Iterator, name);
    }
  };
  visit(machine);
  return found;
}

/** Cuts a name into at most two lines of SIZES.lineChars, at spaces where it can. */
export function wrapName(name: string, width: number = SIZES.lineChars): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of name.split(' ')) {
    if (line && `${line} ${word}`.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  if (lines.length <= 2) return lines.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
  const second = lines.slice(1).join(' ');
  return [lines[0] as string, second.length > width ? `${second.slice(0, width - 1)}…` : second];
}

interface Placed {
  nodes: GraphNode[];
  edges: GraphEdge[];
  branches: GraphBranch[];
  w: number;
  h: number;
}

const shift = (p: Placed, dx: number, dy: number): Placed => ({
  w: p.w,
  h: p.h,
  nodes: p.nodes.map((n) => ({ ...n, x: n.x + dx, y: n.y + dy })),
  edges: p.edges.map((e) => ({ ...e, points: e.points.map(([x, y]) => [x + dx, y + dy] as [number, number]) })),
  branches: p.branches.map((b) => ({ ...b, x: b.x + dx, y: b.y + dy })),
});

/** Lays out one state: a box, or a box around its inner machine(s). Coordinates relative to its top left. */
function placeState(name: string, state: LayoutState, parent: string | undefined): Placed {
  const type = state.type;
  const lines = wrapName(name);
  const base = { name, type, lines, ...(parent ? { parent } : {}) };
  const machines = state.machines ?? [];
  if (state.block) {
    const w = SIZES.leafW;
    const h = SIZES.blockH;
    const summaryLines = wrapName(state.block.text, SIZES.summaryChars);
    return { w, h, nodes: [{ ...base, x: 0, y: 0, w, h, container: false, collapsed: true, summary: state.block, summaryLines }], edges: [], branches: [] };
  }
  if (type === 'Map' && machines.length) {
    const body = shift(placeMachine(machines[0] as LayoutMachine, name), 0, SIZES.header);
    const w = Math.max(body.w, SIZES.leafW + 2 * SIZES.pad);
    const h = SIZES.header + body.h;
    return { w, h, nodes: [{ ...base, x: 0, y: 0, w, h, container: true }, ...body.nodes], edges: body.edges, branches: body.branches };
  }
  if (type === 'Parallel' && machines.length) {
    const out: Placed = { w: 0, h: 0, nodes: [], edges: [], branches: [] };
    let x = SIZES.pad;
    let tallest = 0;
    machines.forEach((branch, index) => {
      const body = shift(placeMachine(branch, name), x, SIZES.header);
      out.nodes.push(...body.nodes);
      out.edges.push(...body.edges);
      out.branches.push(...body.branches, { parent: name, index, x, y: SIZES.header, w: body.w, h: body.h });
      x += body.w + SIZES.gapX;
      tallest = Math.max(tallest, body.h);
    });
    const w = Math.max(x - SIZES.gapX + SIZES.pad, SIZES.leafW + 2 * SIZES.pad);
    const h = SIZES.header + tallest + SIZES.pad;
    return { ...out, w, h, nodes: [{ ...base, x: 0, y: 0, w, h, container: true }, ...out.nodes] };
  }
  const w = SIZES.leafW;
  const h = SIZES.leafH;
  return { w, h, nodes: [{ ...base, x: 0, y: 0, w, h, container: false }], edges: [], branches: [] };
}

/** The edges leaving a state, one per target, with every way it is reached. */
export function stateEdges(state: AslState): Array<{ to: string; kinds: EdgeKind[] }> {
  const edges = new Map<string, Set<EdgeKind>>();
  const add = (to: string | undefined, kind: EdgeKind) => {
    if (!to) return;
    if (!edges.has(to)) edges.set(to, new Set());
    edges.get(to)?.add(kind);
  };
  add(state.Next, 'next');
  for (const choice of state.Choices ?? []) add(choice.Next, 'choice');
  add(state.Default, 'default');
  for (const catcher of state.Catch ?? []) add(catcher.Next, 'catch');
  return [...edges].map(([to, kinds]) => ({ to, kinds: [...kinds] }));
}

interface Item {
  readonly key: string;
  readonly w: number;
  readonly h: number;
  readonly dummy: boolean;
  layer: number;
  x: number;
}

/** Lays out a machine's states (and, recursively, what they hold). Coordinates relative to its top left. */
function placeMachine(machine: LayoutMachine, parent?: string): Placed {
  const states = machine.states;
  const names = Object.keys(states);
  // A machine with nothing to draw (every state left out of a view) is an empty area.
  if (!names.length) return { w: 0, h: SIZES.pad, nodes: [], edges: [], branches: [] };
  const placed = new Map(names.map((name) => [name, placeState(name, states[name] as LayoutState, parent)]));
  const out = new Map(names.map((name) => [name, (states[name] as LayoutState).edges.filter((e) => e.to in states)]));
  const skippedOf = new Map<string, string[]>();
  for (const [from, edges] of out) for (const e of edges) if (e.skipped?.length) skippedOf.set(`${from}\u0000${e.to}`, e.skipped);

  // 1. Depth-first order and back edges.
  const order: string[] = [];
  const back = new Set<string>();
  const seen = new Set<string>();
  const onPath = new Set<string>();
  const dfs = (name: string) => {
    seen.add(name);
    onPath.add(name);
    order.push(name);
    for (const { to } of out.get(name) ?? []) {
      if (onPath.has(to)) back.add(`${name}\u0000${to}`);
      else if (!seen.has(to)) dfs(to);
    }
    onPath.delete(name);
  };
  if (machine.startAt && machine.startAt in states) dfs(machine.startAt);
  for (const name of names) if (!seen.has(name)) dfs(name);
  const isBack = (from: string, to: string) => back.has(`${from}\u0000${to}`);

  // 2. Layers: longest path over the forward edges, each layer within the width budget. The state placed
  //    next is the one that can go highest, and among those the one with the longest way still to go,
  //    so that end states, not the states that lead on, are the ones pushed down.
  const preds = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const [from, edges] of out) for (const { to } of edges) if (!isBack(from, to)) preds.get(to)?.push(from);
  const height = new Map<string, number>();
  const heightOf = (name: string): number => {
    if (!height.has(name)) {
      height.set(name, 0);
      const next = (out.get(name) ?? []).filter((e) => !isBack(name, e.to)).map((e) => heightOf(e.to) + 1);
      height.set(name, Math.max(0, ...next));
    }
    return height.get(name) as number;
  };
  const indegree = new Map(names.map((n) => [n, preds.get(n)?.length ?? 0]));
  const rank = new Map(order.map((n, i) => [n, i]));
  const ready = names.filter((n) => indegree.get(n) === 0);
  const items = new Map<string, Item>();
  const used: number[] = [];
  const lowest = (name: string) => Math.max(0, ...(preds.get(name) ?? []).map((p) => (items.get(p)?.layer ?? 0) + 1));
  while (ready.length) {
    ready.sort((a, b) => lowest(a) - lowest(b) || heightOf(b) - heightOf(a) || (rank.get(a) ?? 0) - (rank.get(b) ?? 0));
    const name = ready.shift() as string;
    const box = placed.get(name) as Placed;
    let layer = lowest(name);
    while ((used[layer] ?? 0) > 0 && (used[layer] ?? 0) + box.w > SIZES.layerBudget) layer++;
    used[layer] = (used[layer] ?? 0) + box.w + SIZES.gapX;
    items.set(name, { key: name, w: box.w, h: box.h, dummy: false, layer, x: 0 });
    for (const { to } of out.get(name) ?? []) {
      if (isBack(name, to)) continue;
      indegree.set(to, (indegree.get(to) ?? 0) - 1);
      if (indegree.get(to) === 0) ready.push(to);
    }
  }

  // 3. Placeholders where a forward edge crosses a layer.
  const chains: Array<{ from: string; to: string; kinds: EdgeKind[]; via: string[] }> = [];
  const backs: Array<{ from: string; to: string; kinds: EdgeKind[] }> = [];
  for (const [from, edges] of out) {
    for (const { to, kinds } of edges) {
      if (isBack(from, to)) {
        backs.push({ from, to, kinds });
        continue;
      }
      const via: string[] = [];
      const a = items.get(from)?.layer ?? 0;
      const b = items.get(to)?.layer ?? 0;
      for (let layer = a + 1; layer < b; layer++) {
        const key = `${from}\u0000${to}\u0000${layer}`;
        items.set(key, { key, w: SIZES.dummyW, h: 0, dummy: true, layer, x: 0 });
        via.push(key);
      }
      chains.push({ from, to, kinds, via });
    }
  }
  const up = new Map<string, string[]>();
  const down = new Map<string, string[]>();
  const link = (a: string, b: string) => {
    down.set(a, [...(down.get(a) ?? []), b]);
    up.set(b, [...(up.get(b) ?? []), a]);
  };
  for (const chain of chains) {
    const path = [chain.from, ...chain.via, chain.to];
    for (let i = 1; i < path.length; i++) link(path[i - 1] as string, path[i] as string);
  }

  // 4. Order within layers: start from the depth-first order, then sweep by the neighbours' mean position.
  const layerCount = Math.max(0, ...[...items.values()].map((i) => i.layer)) + 1;
  const layers: Item[][] = Array.from({ length: layerCount }, () => []);
  const firstRank = (item: Item) => rank.get(item.dummy ? (item.key.split('\u0000')[0] as string) : item.key) ?? 0;
  for (const item of [...items.values()].sort((a, b) => firstRank(a) - firstRank(b))) layers[item.layer]?.push(item);
  const position = new Map<string, number>();
  const index = () => layers.forEach((layer) => layer.forEach((item, i) => position.set(item.key, i)));
  index();
  const sweep = (range: number[], neighbours: Map<string, string[]>) => {
    for (const l of range) {
      const layer = layers[l] as Item[];
      const key = (item: Item) => {
        const around = (neighbours.get(item.key) ?? []).map((k) => position.get(k) ?? 0);
        return around.length ? around.reduce((s, v) => s + v, 0) / around.length : (position.get(item.key) ?? 0);
      };
      const keyed = layer.map((item) => ({ item, k: key(item) }));
      keyed.sort((a, b) => a.k - b.k);
      layers[l] = keyed.map((e) => e.item);
      layers[l]?.forEach((item, i) => position.set(item.key, i));
    }
  };
  const downward = Array.from({ length: layerCount }, (_, i) => i).slice(1);
  const upward = Array.from({ length: layerCount }, (_, i) => layerCount - 1 - i).slice(1);
  for (let round = 0; round < 4; round++) {
    sweep(downward, up);
    sweep(upward, down);
  }

  // 5. x: each item as near the mean centre of its neighbours as the order, the gaps and the machine's
  //    width allow (least squares under those constraints: pool adjacent violators, then clamp).
  const centre = (key: string) => {
    const item = items.get(key) as Item;
    return item.x + item.w / 2;
  };
  const span = (layer: Item[]) => layer.reduce((s, i) => s + i.w + SIZES.gapX, -SIZES.gapX);
  const widest = Math.max(...layers.map(span));
  for (const layer of layers) {
    let x = (widest - span(layer)) / 2;
    for (const item of layer) {
      item.x = x;
      x += item.w + SIZES.gapX;
    }
  }
  const align = (range: number[], neighbours: Map<string, string[]>) => {
    for (const l of range) {
      const layer = layers[l] as Item[];
      // y_i = x_i - offset_i turns "x_i + w_i + gap <= x_(i+1)" into "y_i <= y_(i+1)".
      const offsets: number[] = [];
      let offset = 0;
      for (const item of layer) {
        offsets.push(offset);
        offset += item.w + SIZES.gapX;
      }
      const target = layer.map((item, i) => {
        const around = neighbours.get(item.key) ?? [];
        const wanted = around.length ? around.reduce((s, k) => s + centre(k), 0) / around.length - item.w / 2 : item.x;
        return wanted - (offsets[i] as number);
      });
      const blocks: Array<{ value: number; count: number }> = [];
      for (const t of target) {
        blocks.push({ value: t, count: 1 });
        while (blocks.length > 1 && (blocks.at(-2) as { value: number }).value > (blocks.at(-1) as { value: number }).value) {
          const b = blocks.pop() as { value: number; count: number };
          const a = blocks.pop() as { value: number; count: number };
          blocks.push({ value: (a.value * a.count + b.value * b.count) / (a.count + b.count), count: a.count + b.count });
        }
      }
      const hi = widest - span(layer);
      let i = 0;
      for (const block of blocks) {
        const y = Math.min(Math.max(block.value, 0), Math.max(0, hi));
        for (let k = 0; k < block.count; k++, i++) (layer[i] as Item).x = y + (offsets[i] as number);
      }
    }
  };
  for (let round = 0; round < 3; round++) {
    align(downward, up);
    align(upward, down);
  }
  align(downward, up);

  // Heights: each layer as tall as its tallest box; boxes centred in it.
  const layerTop: number[] = [];
  let y = SIZES.pad;
  for (const layer of layers) {
    layerTop.push(y);
    y += Math.max(SIZES.dummyW, ...layer.map((i) => i.h)) + SIZES.gapY;
  }
  const layerHeight = (l: number) => Math.max(SIZES.dummyW, ...(layers[l] ?? []).map((i) => i.h));
  const minX = Math.min(...[...items.values()].map((i) => i.x));
  const topOf = (item: Item) => (layerTop[item.layer] ?? 0) + (layerHeight(item.layer) - item.h) / 2;
  const xOf = (item: Item) => item.x - minX + SIZES.pad;

  const result: Placed = { w: 0, h: y - SIZES.gapY + SIZES.pad, nodes: [], edges: [], branches: [] };
  for (const name of names) {
    const item = items.get(name) as Item;
    const body = shift(placed.get(name) as Placed, xOf(item), topOf(item));
    result.nodes.push(...body.nodes);
    result.edges.push(...body.edges);
    result.branches.push(...body.branches);
  }
  const box = (name: string) => {
    const item = items.get(name) as Item;
    return { x: xOf(item), y: topOf(item), w: item.w, h: item.h };
  };
  for (const chain of chains) {
    const a = box(chain.from);
    const b = box(chain.to);
    const points: Array<[number, number]> = [[a.x + a.w / 2, a.y + a.h]];
    for (const key of chain.via) {
      const item = items.get(key) as Item;
      const cx = xOf(item) + item.w / 2;
      points.push([cx, layerTop[item.layer] ?? 0], [cx, (layerTop[item.layer] ?? 0) + layerHeight(item.layer)]);
    }
    points.push([b.x + b.w / 2, b.y]);
    const skipped = skippedOf.get(`${chain.from}\u0000${chain.to}`);
    result.edges.push({ from: chain.from, to: chain.to, kinds: chain.kinds, points, back: false, ...(skipped ? { skipped } : {}) });
  }
  let width = Math.max(...[...items.values()].map((i) => xOf(i) + i.w)) + SIZES.pad;
  for (const edge of backs) {
    const a = box(edge.from);
    const b = box(edge.to);
    const out = Math.max(a.x + a.w, b.x + b.w) + SIZES.gapX;
    const skipped = skippedOf.get(`${edge.from}\u0000${edge.to}`);
    result.edges.push({
      ...edge,
      ...(skipped ? { skipped } : {}),
      back: true,
      points: [
        [a.x + a.w, a.y + a.h / 2],
        [out, a.y + a.h / 2],
        [out, b.y + b.h / 2],
        [b.x + b.w, b.y + b.h / 2],
      ],
    });
    width = Math.max(width, out + SIZES.pad);
  }
  result.w = width;
  return result;
}

/** The whole definition laid out; coordinates in SVG user units from the top left. */
export function layoutDefinition(definition: AslMachine): GraphLayout {
  return layoutMachine(fromDefinition(definition));
}

/** A LayoutMachine laid out (the whole definition, or a view of it). */
export function layoutMachine(machine: LayoutMachine): GraphLayout {
  const placed = placeMachine(machine);
  const r = (v: number) => Math.round(v * 10) / 10;
  return {
    width: r(placed.w),
    height: r(placed.h),
    nodes: placed.nodes.map((n) => ({ ...n, x: r(n.x), y: r(n.y), w: r(n.w), h: r(n.h) })),
    edges: placed.edges.map((e) => ({ ...e, points: e.points.map(([x, y]) => [r(x), r(y)] as [number, number]) })),
    branches: placed.branches.map((b) => ({ ...b, x: r(b.x), y: r(b.y), w: r(b.w), h: r(b.h) })),
  };
}
