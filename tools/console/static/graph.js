// Draws a laid-out state machine (GET /api/graph) in SVG, colours each state by its outcome, and lets a
// person pan (drag), zoom (wheel, buttons) and click a state. The layout itself is computed by the
// server (local/console/graph.ts); this file only draws it.
import { h } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}, children = []) => {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const child of children) if (child) el.append(child);
  return el;
};

/** A smooth path through the edge's points: vertical curves between successive points. */
function edgePath(points, back) {
  const [first, ...rest] = points;
  let d = `M${first[0]},${first[1]}`;
  if (back) return d + rest.map(([x, y]) => ` L${x},${y}`).join('');
  let [px, py] = first;
  for (const [x, y] of rest) {
    const dy = (y - py) / 2;
    d += dx(px, x) ? ` C${px},${py + dy} ${x},${y - dy} ${x},${y}` : ` L${x},${y}`;
    [px, py] = [x, y];
  }
  return d;
}
const dx = (a, b) => Math.abs(a - b) > 0.5;

export const OUTCOME_LABEL = {
  succeeded: 'succeeded',
  retried: 'retried',
  caught: 'caught',
  failed: 'failed',
  running: 'running',
  'not-entered': 'not entered',
};

export function legend() {
  return h('div', { class: 'legend' }, Object.entries(OUTCOME_LABEL).map(([k, label]) => h('span', { class: `chip outcome-${k}` }, label)));
}

/**
 * layout: { width, height, nodes, edges, branches }; states: { [name]: { outcome, visits, retries, errors } }.
 * onSelect(name) is called when a state is clicked. Returns { element, select(name), fit() }.
 */
export function drawGraph(layout, states, onSelect, transitions = []) {
  const taken = new Set(transitions.map((t) => `${t.from}\u0000${t.to}`));
  const root = svg('svg', { class: 'graph', role: 'img', 'aria-label': 'state machine graph' });
  const defs = svg('defs', {}, [
    svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, [
      svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }),
    ]),
    svg('marker', { id: 'arrow-taken', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' }, [
      svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead taken' }),
    ]),
  ]);
  const world = svg('g', { class: 'world' });
  root.append(defs, world);

  const containers = layout.nodes.filter((n) => n.container);
  const leaves = layout.nodes.filter((n) => !n.container);
  const nodeEls = new Map();
  const stateBox = (n) => {
    const s = states[n.name];
    const outcome = s ? s.outcome : 'not-entered';
    const g = svg('g', {
      class: `state type-${n.type} outcome-${outcome}${n.container ? ' container' : ''}`,
      'data-state': n.name,
      'data-outcome': outcome,
      tabindex: 0,
      transform: `translate(${n.x},${n.y})`,
    });
    g.append(svg('rect', { class: 'box', width: n.w, height: n.h, rx: n.container ? 6 : 4 }));
    const title = svg('title');
    title.textContent = `${n.name} (${n.type}) — ${OUTCOME_LABEL[outcome]}${s?.visits > 1 ? `, ${s.visits} visits` : ''}${s?.retries ? `, ${s.retries} retries` : ''}`;
    g.append(title);
    if (n.container) {
      const label = svg('text', { x: 8, y: 17, class: 'label' });
      label.textContent = `${n.type} · ${n.name}`;
      g.append(label);
    } else {
      n.lines.forEach((line, i) => {
        const t = svg('text', { x: n.w / 2, y: n.h / 2 + (i - (n.lines.length - 1) / 2) * 13 + 4, 'text-anchor': 'middle', class: 'label' });
        t.textContent = line;
        g.append(t);
      });
      const type = svg('text', { x: 4, y: 9, class: 'type' });
      type.textContent = n.type;
      g.append(type);
    }
    const badges = [];
    if (s?.visits > 1) badges.push(`×${s.visits}`);
    if (s?.retries) badges.push(`↻${s.retries}`);
    if (s?.outcome === 'caught') badges.push('caught');
    if (s?.outcome === 'failed') badges.push('failed');
    if (badges.length) {
      const text = badges.join(' ');
      const bw = text.length * 6 + 8;
      const x = n.w - bw - 2;
      g.append(svg('rect', { x, y: n.container ? 4 : -8, width: bw, height: 14, rx: 7, class: 'badge' }));
      const t = svg('text', { x: x + bw / 2, y: (n.container ? 4 : -8) + 10.5, 'text-anchor': 'middle', class: 'badge-text' });
      t.textContent = text;
      g.append(t);
    }
    g.addEventListener('click', (event) => {
      event.stopPropagation();
      onSelect(n.name);
    });
    g.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') onSelect(n.name);
    });
    nodeEls.set(n.name, g);
    return g;
  };

  // Containers first (behind), then branch frames, edges, and the states on top.
  for (const n of containers) world.append(stateBox(n));
  for (const b of layout.branches) world.append(svg('rect', { class: 'branch', x: b.x, y: b.y, width: b.w, height: b.h, rx: 4 }));
  for (const e of layout.edges) {
    const kind = e.kinds.length === 1 ? e.kinds[0] : e.kinds.find((k) => k !== 'catch');
    const was = taken.has(`${e.from}\u0000${e.to}`);
    world.append(svg('path', { class: `edge edge-${kind}${e.back ? ' back' : ''}${was ? ' taken' : ''}`, d: edgePath(e.points, e.back), 'marker-end': `url(#${was ? 'arrow-taken' : 'arrow'})`, 'data-from': e.from, 'data-to': e.to }));
  }
  for (const n of leaves) world.append(stateBox(n));

  // Pan and zoom: a viewBox over the world.
  let view = { x: 0, y: 0, w: layout.width, h: layout.height };
  const apply = () => root.setAttribute('viewBox', `${view.x} ${view.y} ${view.w} ${view.h}`);
  const fit = () => {
    view = { x: 0, y: 0, w: layout.width, h: layout.height };
    apply();
  };
  const zoom = (factor, cx = view.x + view.w / 2, cy = view.y + view.h / 2) => {
    view = { x: cx - (cx - view.x) * factor, y: cy - (cy - view.y) * factor, w: view.w * factor, h: view.h * factor };
    apply();
  };
  root.addEventListener('wheel', (event) => {
    event.preventDefault();
    const r = root.getBoundingClientRect();
    const cx = view.x + ((event.clientX - r.left) / r.width) * view.w;
    const cy = view.y + ((event.clientY - r.top) / r.height) * view.h;
    zoom(event.deltaY > 0 ? 1.15 : 1 / 1.15, cx, cy);
  });
  let drag;
  root.addEventListener('pointerdown', (event) => {
    drag = { x: event.clientX, y: event.clientY, view: { ...view } };
  });
  root.addEventListener('pointermove', (event) => {
    if (!drag || !(event.buttons & 1)) return;
    const r = root.getBoundingClientRect();
    const scale = Math.max(view.w / r.width, view.h / r.height);
    view = { ...drag.view, x: drag.view.x - (event.clientX - drag.x) * scale, y: drag.view.y - (event.clientY - drag.y) * scale };
    apply();
  });
  root.addEventListener('pointerup', () => (drag = undefined));
  fit();

  /** Zooms to a state (its box and some room around it). */
  const focus = (name, scale = 1) => {
    const n = layout.nodes.find((x) => x.name === name);
    if (!n) return;
    const r = root.getBoundingClientRect();
    const w = (r.width || 1000) / scale;
    const hgt = (r.height || 600) / scale;
    view = { x: n.x + n.w / 2 - w / 2, y: n.y + n.h / 2 - hgt / 2, w, h: hgt };
    apply();
  };
  const select = (name) => {
    for (const [k, el] of nodeEls) el.classList.toggle('selected', k === name);
  };
  const controls = h('div', { class: 'graph-controls' }, [
    h('button', { type: 'button', title: 'zoom in', onclick: () => zoom(1 / 1.3) }, '+'),
    h('button', { type: 'button', title: 'zoom out', onclick: () => zoom(1.3) }, '−'),
    h('button', { type: 'button', title: 'whole graph', onclick: fit }, 'fit'),
    h('button', { type: 'button', title: 'actual size', onclick: () => zoom((root.getBoundingClientRect().width || view.w) / view.w) }, '1:1'),
  ]);
  const element = h('div', { class: 'graph-frame' }, [controls, root]);
  return { element, select, fit, focus };
}
