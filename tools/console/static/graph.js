// Draws the state machine in SVG, each state coloured by its outcome in one execution, as a view a person
// can read: Map and Parallel states as blocks (opened in place by click, Enter or Space), states never
// entered left out unless asked for. The server lays each view out (GET /api/graph?view=, from
// tools/console/graph-view.ts); this file only draws it, and lets a person pan (drag), zoom (wheel,
// buttons), fit, and click a state.
import { api, h } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}, children = []) => {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const child of children) if (child) el.append(child);
  return el;
};
const text = (attrs, content) => {
  const t = svg('text', attrs);
  t.textContent = content;
  return t;
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

/** A small drawing in the legend, drawn with the graph's own shapes (style.css: "The graph's legend"). */
const sample = (children) => svg('svg', { class: 'legend-sample', width: 30, height: 16, viewBox: '0 0 30 16', 'aria-hidden': 'true' }, children);
const line = (cls) => sample([svg('path', { class: cls, d: 'M2,8 H28' })]);

/** The outcomes' colours, then what a shape means: a closed block, and the two kinds of dashed edge. */
export function legend() {
  const key = (name, drawing, label, title) => h('span', { class: 'chip graph-key', dataset: { key: name }, title }, [drawing, label]);
  return h('div', { class: 'legend' }, [
    ...Object.entries(OUTCOME_LABEL).map(([k, label]) => h('span', { class: `chip outcome-${k}` }, label)),
    key(
      'block',
      sample([svg('rect', { class: 'stack', x: 6, y: 5, width: 21, height: 10, rx: 2 }), svg('rect', { class: 'box', x: 3, y: 1, width: 21, height: 10, rx: 2 })]),
      'closed Map or Parallel',
      'a Map or Parallel drawn as one block, what ran inside summed up: click, Enter or Space opens it',
    ),
    key('skipped', line('edge skip'), 'through states not entered', 'a dashed grey edge: the definition goes this way through states this execution never entered (hover it to see them)'),
    key('catch', line('edge edge-catch'), 'to a Catch', "an edge to the state a Catch goes on to"),
  ]);
}

/** How far "fit" enlarges a small graph: past this, a few boxes would fill the frame. */
const MAX_FIT_SCALE = 1.25;
const FIT_MARGIN = 16;

// What a person chose, kept while the page is open, so that a graph drawn again (a running execution's,
// every second; another execution's) keeps it: the blocks opened, and "hide states never entered".
const chosen = { open: new Set(), hide: undefined };
// Views laid out, by their URL: drawing one again costs no request.
const views = new Map();
const viewOf = async (url) => {
  if (!views.has(url)) {
    views.set(url, await api(url));
    if (views.size > 50) views.delete(views.keys().next().value);
  }
  return views.get(url);
};

/**
 * layout: the whole definition (GET /api/graph): its Map and Parallel states and what each state is inside.
 * states: { [name]: { outcome, visits, retries, errors, iterations? } } for one execution (a Map's
 * `iterations`: its iterations by outcome); null or undefined for the bare definition. onSelect(name) is called when a state is clicked. Returns { element, select(name), fit(), focus(name) }.
 */
export function drawGraph(layout, states, onSelect, transitions = []) {
  const execution = states !== null && states !== undefined;
  const runs = states ?? {};
  const taken = new Set(transitions.map((t) => `${t.from}\u0000${t.to}`));
  const parentOf = new Map(layout.nodes.filter((n) => n.parent).map((n) => [n.name, n.parent]));
  const blocks = layout.nodes.filter((n) => n.container).map((n) => n.name);

  const root = svg('svg', { class: 'graph', role: 'group', 'aria-label': 'state machine graph' });
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
  const note = h('div', { class: 'graph-note', role: 'status' });

  let drawn = { width: 0, height: 0, nodes: [], edges: [], branches: [] };
  let nodeEls = new Map();
  let selected;
  let fitted = true;
  let sequence = 0;
  const hide = () => execution && (chosen.hide ?? true);

  // Pan and zoom: a viewBox over the world.
  let view = { x: 0, y: 0, w: 1, h: 1 };
  const apply = () => root.setAttribute('viewBox', `${view.x} ${view.y} ${view.w} ${view.h}`);
  const frameSize = () => {
    const r = root.getBoundingClientRect();
    return r.width > 0 && r.height > 0 ? r : undefined;
  };
  const fit = () => {
    const w = Math.max(drawn.width, 1) + 2 * FIT_MARGIN;
    const hgt = Math.max(drawn.height, 1) + 2 * FIT_MARGIN;
    const frame = frameSize();
    // Never larger than MAX_FIT_SCALE: the viewBox grows to the frame's size at that scale, the graph centred.
    const vw = frame ? Math.max(w, frame.width / MAX_FIT_SCALE) : w;
    const vh = frame ? Math.max(hgt, frame.height / MAX_FIT_SCALE) : hgt;
    view = { x: -FIT_MARGIN - (vw - w) / 2, y: -FIT_MARGIN - (vh - hgt) / 2, w: vw, h: vh };
    fitted = true;
    apply();
  };
  const zoom = (factor, cx = view.x + view.w / 2, cy = view.y + view.h / 2) => {
    view = { x: cx - (cx - view.x) * factor, y: cy - (cy - view.y) * factor, w: view.w * factor, h: view.h * factor };
    fitted = false;
    apply();
  };
  root.addEventListener('wheel', (event) => {
    event.preventDefault();
    const r = root.getBoundingClientRect();
    const cx = view.x + ((event.clientX - r.left) / r.width) * view.w;
    const cy = view.y + ((event.clientY - r.top) / r.height) * view.h;
    zoom(event.deltaY > 0 ? 1.15 : 1 / 1.15, cx, cy);
  });
  // A drag pans; the click that ends a drag selects nothing.
  let drag;
  let dragged = false;
  root.addEventListener('pointerdown', (event) => {
    drag = { x: event.clientX, y: event.clientY, view: { ...view } };
    dragged = false;
  });
  root.addEventListener('pointermove', (event) => {
    if (!drag || !(event.buttons & 1)) return;
    if (Math.abs(event.clientX - drag.x) + Math.abs(event.clientY - drag.y) < 4) return;
    dragged = true;
    fitted = false;
    const r = root.getBoundingClientRect();
    const scale = Math.max(view.w / r.width, view.h / r.height);
    view = { ...drag.view, x: drag.view.x - (event.clientX - drag.x) * scale, y: drag.view.y - (event.clientY - drag.y) * scale };
    apply();
  });
  root.addEventListener('pointerup', () => (drag = undefined));

  /** Zooms to a drawn state (its box and some room around it). */
  const zoomTo = (name, scale = 1) => {
    const n = drawn.nodes.find((x) => x.name === name);
    if (!n) return;
    const r = frameSize() ?? { width: 1000, height: 600 };
    const w = r.width / scale;
    const hgt = r.height / scale;
    view = { x: n.x + n.w / 2 - w / 2, y: n.y + n.h / 2 - hgt / 2, w, h: hgt };
    fitted = false;
    apply();
  };

  const isBlock = (n) => n.collapsed || n.container;
  const toggle = (name) => {
    if (chosen.open.has(name)) {
      chosen.open.delete(name);
      // Closing a block closes what it holds, so that opening it again shows its first level only.
      for (const b of blocks) if (ancestors(b).includes(name)) chosen.open.delete(b);
    } else chosen.open.add(name);
    redraw({ anchor: name, focusAfter: name });
  };
  const ancestors = (name) => {
    const found = [];
    for (let p = parentOf.get(name); p; p = parentOf.get(p)) found.push(p);
    return found;
  };

  const stateBox = (n) => {
    const s = runs[n.name];
    const outcome = n.collapsed ? n.summary.outcome : s ? s.outcome : 'not-entered';
    const kind = n.collapsed ? 'block' : n.container ? 'container' : 'state';
    const g = svg('g', {
      class: `state type-${n.type} outcome-${outcome}${n.container ? ' container' : ''}${n.collapsed ? ' block' : ''}`,
      'data-state': n.name,
      'data-outcome': outcome,
      'data-kind': kind,
      tabindex: 0,
      role: 'button',
      'aria-expanded': isBlock(n) ? String(Boolean(n.container)) : undefined,
      'aria-label': `${n.name}, ${n.type}${n.collapsed ? `: ${n.summary.text}` : `, ${OUTCOME_LABEL[outcome]}`}`,
      transform: `translate(${n.x},${n.y})`,
    });
    // A block: a second box behind it says that it holds more.
    if (n.collapsed) g.append(svg('rect', { class: 'stack', x: 4, y: 4, width: n.w, height: n.h, rx: 6 }));
    g.append(svg('rect', { class: 'box', width: n.w, height: n.h, rx: isBlock(n) ? 6 : 4 }));
    const title = svg('title');
    const visits = s?.visits;
    const retries = n.collapsed ? n.summary.retries : s?.retries;
    title.textContent = n.collapsed
      ? `${n.name} (${n.type}, closed) — ${n.summary.text}. Click, Enter or Space opens it.`
      : `${n.name} (${n.type}) — ${OUTCOME_LABEL[outcome]}${visits > 1 ? `, ${visits} visits` : ''}${retries ? `, ${retries} retries` : ''}${n.container ? '. Click its title to close it.' : ''}`;
    g.append(title);
    if (n.container) {
      g.append(svg('rect', { class: 'header', width: n.w, height: 24, rx: 6 }));
      g.append(text({ x: 8, y: 17, class: 'label' }, `${n.type} · ${n.name}`));
      g.append(text({ x: n.w - 10, y: 17, 'text-anchor': 'middle', class: 'toggle' }, '−'));
    } else if (n.collapsed) {
      g.append(text({ x: 6, y: 11, class: 'type' }, `${n.type} · closed`));
      g.append(text({ x: n.w - 10, y: 13, 'text-anchor': 'middle', class: 'toggle' }, '+'));
      const lines = [...n.lines.map((l) => ['label', l]), ...(n.summaryLines ?? []).map((l) => ['summary', l])];
      const top = 14 + (n.h - 14 - lines.length * 13) / 2;
      lines.forEach(([cls, line], i) => g.append(text({ x: n.w / 2, y: top + i * 13 + 10, 'text-anchor': 'middle', class: cls }, line)));
    } else {
      n.lines.forEach((line, i) => g.append(text({ x: n.w / 2, y: n.h / 2 + (i - (n.lines.length - 1) / 2) * 13 + 4, 'text-anchor': 'middle', class: 'label' }, line)));
      g.append(text({ x: 4, y: 9, class: 'type' }, n.type));
    }
    const badges = [];
    if (visits > 1) badges.push(`×${visits}`);
    if (retries) badges.push(`↻${retries}`);
    if (outcome === 'caught') badges.push('caught');
    if (outcome === 'failed') badges.push('failed');
    if (badges.length) {
      const label = badges.join(' ');
      const bw = label.length * 6 + 8;
      // Left of a Map's or Parallel's open/close sign.
      const x = n.w - bw - (isBlock(n) ? 22 : 2);
      const y = n.container ? 5 : -8;
      g.append(svg('rect', { x, y, width: bw, height: 14, rx: 7, class: 'badge' }));
      g.append(text({ x: x + bw / 2, y: y + 10.5, 'text-anchor': 'middle', class: 'badge-text' }, label));
    }
    g.addEventListener('click', (event) => {
      event.stopPropagation();
      if (dragged) return;
      // An open Map or Parallel closes from its title; a block opens wherever it is clicked.
      if (n.collapsed || (n.container && event.target.closest('.header, .label, .toggle'))) toggle(n.name);
      onSelect(n.name);
    });
    g.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' && event.key !== ' ') return;
      event.preventDefault();
      if (isBlock(n)) toggle(n.name);
      onSelect(n.name);
    });
    nodeEls.set(n.name, g);
    return g;
  };

  const paint = (next) => {
    drawn = next;
    nodeEls = new Map();
    world.replaceChildren();
    // Containers first (behind), then branch frames, edges, and the states on top.
    for (const n of next.nodes.filter((x) => x.container)) world.append(stateBox(n));
    for (const b of next.branches) world.append(svg('rect', { class: 'branch', x: b.x, y: b.y, width: b.w, height: b.h, rx: 4 }));
    for (const e of next.edges) {
      const kind = e.kinds.length === 1 ? e.kinds[0] : e.kinds.find((k) => k !== 'catch');
      const was = !e.skipped && taken.has(`${e.from}\u0000${e.to}`);
      const path = svg('path', {
        class: `edge edge-${kind}${e.back ? ' back' : ''}${was ? ' taken' : ''}${e.skipped ? ' skip' : ''}`,
        d: edgePath(e.points, e.back),
        'marker-end': `url(#${was ? 'arrow-taken' : 'arrow'})`,
        'data-from': e.from,
        'data-to': e.to,
      });
      if (e.skipped) {
        const t = svg('title');
        t.textContent = `${e.from} → ${e.to} in the definition, through states not entered: ${e.skipped.join(', ')}`;
        path.append(t);
      }
      world.append(path);
    }
    for (const n of next.nodes.filter((x) => !x.container)) world.append(stateBox(n));
    if (selected) select(selected);
    const shown = next.nodes.length;
    note.textContent = !shown
      ? 'No state entered yet.'
      : `${shown} of ${next.stateCount} states drawn${next.hidden ? `: ${next.hidden} inside closed blocks${hide() ? ' or never entered' : ''}` : ''}.`;
  };

  const viewUrl = () => {
    const open = [...chosen.open].filter((name) => blocks.includes(name));
    const compact = Object.fromEntries(
      Object.entries(runs).map(([name, s]) => [name, { outcome: s.outcome, visits: s.visits, retries: s.retries ?? 0, ...(s.iterations ? { iterations: s.iterations } : {}) }]),
    );
    const query = { open, hide: hide(), ...(execution ? { states: compact } : {}) };
    return `/api/graph?view=${encodeURIComponent(JSON.stringify(query))}`;
  };

  /** Lays the chosen view out and draws it; the state toggled keeps its place on the screen unless at fit. */
  async function redraw({ anchor, focusAfter, then } = {}) {
    const mine = ++sequence;
    const before = anchor && drawn.nodes.find((n) => n.name === anchor);
    let next;
    try {
      next = await viewOf(viewUrl());
    } catch (error) {
      if (mine === sequence) note.textContent = `The graph could not be laid out: ${error.message}`;
      return;
    }
    if (mine !== sequence) return;
    paint(next);
    const after = anchor && next.nodes.find((n) => n.name === anchor);
    if (fitted || !before || !after) fit();
    else {
      view = { ...view, x: view.x + (after.x - before.x), y: view.y + (after.y - before.y) };
      apply();
    }
    controls.querySelector('input[name="hide"]').checked = hide();
    if (focusAfter) nodeEls.get(focusAfter)?.focus();
    then?.();
  }

  function select(name) {
    selected = name;
    for (const [k, el] of nodeEls) el.classList.toggle('selected', k === name);
  }

  /** Shows a state: opens the blocks that hold it, then zooms to it. */
  const focus = (name, scale = 1) => {
    const closed = ancestors(name).filter((a) => !chosen.open.has(a));
    if (!closed.length) return zoomTo(name, scale);
    for (const a of closed) chosen.open.add(a);
    redraw({ then: () => zoomTo(name, scale) });
  };

  const controls = h('div', { class: 'graph-controls' }, [
    h('label', { class: 'hide-toggle', title: execution ? 'leave out the states this execution never entered' : 'needs an execution' }, [
      h('input', {
        type: 'checkbox',
        name: 'hide',
        checked: hide(),
        disabled: !execution,
        onchange: (event) => {
          chosen.hide = event.target.checked;
          redraw();
        },
      }),
      ' hide states never entered',
    ]),
    h('button', { type: 'button', name: 'expand-all', title: 'open every Map and Parallel', onclick: () => ((chosen.open = new Set(blocks)), redraw()) }, 'expand all'),
    h('button', { type: 'button', name: 'collapse-all', title: 'close every Map and Parallel', onclick: () => (chosen.open.clear(), redraw()) }, 'collapse all'),
    h('button', { type: 'button', title: 'zoom in', onclick: () => zoom(1 / 1.3) }, '+'),
    h('button', { type: 'button', title: 'zoom out', onclick: () => zoom(1.3) }, '−'),
    h('button', { type: 'button', name: 'fit', title: 'whole graph', onclick: fit }, 'fit'),
    h('button', { type: 'button', title: 'actual size', onclick: () => zoom((root.getBoundingClientRect().width || view.w) / view.w) }, '1:1'),
  ]);
  const element = h('div', { class: 'graph-frame' }, [h('div', { class: 'graph-toolbar' }, [note, controls]), root]);
  redraw();
  return { element, select, fit, focus };
}
