// One execution, in tabs as the Step Functions console shows one: the deployed state machine as a graph,
// each state coloured by what happened to it in this execution (a click shows the state's visits: input,
// output, events in order); the table of events; the timeline; the input and output; the definition.
// The tab is in the URL (#/execution/<name or ARN>?tab=timeline), so a link opens it. Below the tabs,
// the batch's messages and what became of each.
import { api, dateTime, duration, fill, h, pretty, requestHref, link } from './dom.js';
import { drawGraph, legend, OUTCOME_LABEL } from './graph.js';
import { outcomePills } from './executions.js';
import { definitionView, eventsView, ioView, timelineView } from './execution-views.js';

const TABS = [
  ['graph', 'Graph'],
  ['events', 'Table of events'],
  ['timeline', 'Timeline'],
  ['io', 'Input & output'],
  ['definition', 'Definition'],
];
const tabInUrl = () => new URLSearchParams(location.hash.split('?')[1] ?? '').get('tab');

let graphLayout;
const loadGraph = async () => (graphLayout ??= await api('/api/graph'));

const eventLine = (e, t0) => {
  const d = e.details ?? {};
  return h('div', { class: 'event', dataset: { eventId: e.id } }, [
    h('span', { class: 'mono', title: 'event id' }, e.id),
    h('span', { class: 'mono muted', title: 'previous event id' }, e.previousEventId ?? ''),
    h('span', {}, [
      h('span', { class: 'mono' }, e.type),
      h('span', { class: 'muted' }, ` +${e.timestamp - t0} ms`),
      d.error ? h('div', { class: 'err' }, `${d.error}${d.cause ? `: ${d.cause}` : ''}`) : null,
    ]),
  ]);
};

function stateDetails(name, detail, layoutNode) {
  const summary = detail.model.states[name];
  const events = new Map(detail.events.map((e) => [e.id, e]));
  const t0 = detail.execution.startDate;
  const visits = detail.model.visits.filter((v) => v.name === name);
  const outcome = summary?.outcome ?? 'not-entered';
  return [
    h('h2', {}, name),
    h('p', {}, [
      h('span', { class: `chip outcome-${outcome}` }, OUTCOME_LABEL[outcome]),
      ` ${layoutNode?.type ?? ''} state`,
      summary ? ` · ${summary.visits} visit${summary.visits === 1 ? '' : 's'}` : '',
      summary?.retries ? ` · ${summary.retries} retr${summary.retries === 1 ? 'y' : 'ies'}` : '',
    ]),
    summary?.errors.length
      ? h('div', { class: 'errors' }, [
          h('h3', {}, 'Errors'),
          h('ul', {}, summary.errors.map((e) =>
            h('li', { dataset: { handling: e.handling } }, [
              h('strong', {}, e.error),
              ` (event ${e.eventId}) — `,
              e.handling === 'caught' ? `caught${e.next ? `, went on to “${e.next}”` : ''}` : e.handling === 'retried' ? 'retried' : e.handling,
              e.cause ? h('div', { class: 'muted mono' }, e.cause) : null,
            ]),
          )),
        ])
      : null,
    visits.length ? h('h3', {}, 'Visits') : h('p', { class: 'muted' }, 'Not entered in this execution.'),
    ...visits.slice(0, 50).map((v, i) =>
      h('details', { open: i === 0 }, [
        h('summary', {}, `#${i + 1} entered +${v.enteredAt - t0} ms${v.exitedAt !== undefined ? `, ${duration(v.exitedAt - v.enteredAt)}` : ', no exit'}${v.attempts > 1 ? `, ${v.attempts} attempts` : ''} — ${OUTCOME_LABEL[v.outcome]}`),
        h('h3', {}, 'Input'),
        h('pre', { class: 'input' }, v.input === undefined ? '(not recorded)' : pretty(v.input)),
        h('h3', {}, 'Output'),
        h('pre', { class: 'output' }, v.output === undefined ? '(none)' : pretty(v.output)),
        h('h3', {}, 'Events'),
        h('div', { class: 'events' }, v.events.map((id) => eventLine(events.get(id), t0))),
      ]),
    ),
    visits.length > 50 ? h('p', { class: 'muted' }, `… and ${visits.length - 50} more visits`) : null,
  ];
}

// Worst last, as the graph ranks outcomes (graph-view.ts ENTERED_OUTCOMES).
const WORST_LAST = ['succeeded', 'running', 'retried', 'caught', 'failed'];

// Each Map state's iterations by outcome, for its block in the graph: an iteration's outcome is the worst
// of the visits it holds (nested ones too), found through each visit's parent and Map iteration
// (history-model.ts). A Map with a visit inside it of no known iteration gets none: its block then
// counts the states inside instead.
function mapIterations(visits) {
  const byId = new Map(visits.map((v) => [v.id, v]));
  const worst = new Map();
  const unknown = new Set();
  for (const v of visits) {
    for (let child = v, map = byId.get(v.parent); map; child = map, map = byId.get(map.parent)) {
      if (map.type !== 'Map') continue;
      if (child.iteration === undefined) {
        unknown.add(map.name);
        continue;
      }
      const key = `${map.id} ${child.iteration}`;
      const was = worst.get(key);
      if (was === undefined || WORST_LAST.indexOf(v.outcome) > WORST_LAST.indexOf(was.outcome)) worst.set(key, { name: map.name, outcome: v.outcome });
    }
  }
  const byMap = {};
  for (const { name, outcome } of worst.values()) {
    if (unknown.has(name)) continue;
    byMap[name] ??= {};
    byMap[name][outcome] = (byMap[name][outcome] ?? 0) + 1;
  }
  return byMap;
}

/** The per-state summaries the graph colours by, each Map's with its iterations by outcome. */
function graphStates(model) {
  const iterations = mapIterations(model.visits);
  return Object.fromEntries(Object.entries(model.states).map(([name, s]) => [name, iterations[name] ? { ...s, iterations: iterations[name] } : s]));
}

function overview(detail, choose) {
  const notable = Object.values(detail.model.states).filter((s) => s.errors.length || s.outcome === 'failed');
  return [
    h('h2', {}, 'States'),
    h('p', { class: 'muted' }, 'Click a state in the graph to see its input, output and events. Drag to pan, scroll to zoom.'),
    notable.length
      ? h('ul', { id: 'notable' }, notable.map((s) => h('li', {}, [h('a', { href: '#', onclick: (ev) => (ev.preventDefault(), choose(s.name, true)) }, s.name), ` — ${OUTCOME_LABEL[s.outcome]}: ${s.errors.map((e) => e.error).join(', ')}`])))
      : h('p', {}, 'No errors and no retries.'),
    detail.model.unattributed.length
      ? h('p', { class: 'error', id: 'unattributed' }, `${detail.model.unattributed.length} event(s) could not be attached to a state by their previousEventId chain: ${detail.model.unattributed.join(', ')}`)
      : null,
  ];
}

function messagesTable(detail) {
  return h('table', { id: 'messages' }, [
    h('thead', {}, h('tr', {}, ['Message', 'request_id', 'Priority', 'Outcome', 'Region', 'Failed over', 'Reason'].map((t) => h('th', {}, t)))),
    h('tbody', {}, detail.messages.map((m) =>
      h('tr', { dataset: { requestId: m.requestId ?? '', outcome: m.outcome } }, [
        h('td', { class: 'mono', title: m.messageId }, m.messageId.slice(0, 8)),
        h('td', {}, m.requestId ? link(requestHref(m.requestId), m.requestId, { class: 'mono' }) : ''),
        h('td', {}, m.priority ?? ''),
        h('td', {}, h('span', { class: `pill ${m.outcome}` }, m.outcome)),
        h('td', {}, m.region ?? ''),
        h('td', { class: 'failed-over' }, m.failedOver ? `yes, from ${m.branch}` : 'no'),
        h('td', { class: 'muted' }, m.reason ?? ''),
      ]),
    )),
  ]);
}

/** The tab bar: arrow keys move between tabs; the chosen one is written into the URL without a reload. */
function tabBar(choose) {
  const buttons = TABS.map(([id, label]) =>
    h('button', { type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': `panel-${id}`, dataset: { tab: id }, onclick: () => choose(id) }, label),
  );
  const bar = h('div', { class: 'execution-tabs', role: 'tablist', 'aria-label': 'Views of this execution' }, buttons);
  bar.addEventListener('keydown', (ev) => {
    const at = buttons.indexOf(document.activeElement);
    if (at < 0 || (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft')) return;
    const next = buttons[(at + (ev.key === 'ArrowRight' ? 1 : buttons.length - 1)) % buttons.length];
    next.focus();
    choose(next.dataset.tab);
  });
  return {
    element: bar,
    select(id) {
      for (const b of buttons) {
        const on = b.dataset.tab === id;
        b.setAttribute('aria-selected', String(on));
        b.tabIndex = on ? 0 : -1;
      }
    },
  };
}

// The route names the execution by its ARN (the links) or by its name (a deep link a person types).
export function render(main, arn) {
  const head = h('div');
  const status = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const route = location.hash.split('?')[0];
  let left = false;
  let timer;
  let selected;
  let graph;
  let panel;
  let current;
  const choose = (name, zoomTo = false) => {
    selected = name;
    graph.select(name);
    if (zoomTo) graph.focus(name, 0.8);
    fill(panel, stateDetails(name, current, graphLayout.nodes.find((n) => n.name === name)));
  };
  const graphPanel = h('div');
  const messages = h('div');
  const views = {
    graph: {
      element: graphPanel,
      update(detail) {
        graph = drawGraph(graphLayout, graphStates(detail.model), choose, detail.model.transitions);
        panel = h('div', { class: 'panel details', id: 'state-details' }, overview(detail, choose));
        fill(graphPanel, [legend(), h('div', { class: 'execution-layout' }, [graph.element, panel])]);
        if (selected) choose(selected);
      },
    },
    events: eventsView(),
    timeline: timelineView(),
    io: ioView(),
    definition: definitionView(),
  };
  // A view is drawn when shown (the graph measures its frame) and when new data comes while it is shown.
  const stale = new Set();
  const panels = Object.fromEntries(TABS.map(([id]) => [id, h('section', { role: 'tabpanel', id: `panel-${id}`, 'aria-labelledby': `tab-${id}`, class: 'tab-panel', hidden: true }, views[id].element)]));
  let shown = TABS.some(([id]) => id === tabInUrl()) ? tabInUrl() : 'graph';
  const show = (id) => {
    shown = id;
    tabs.select(id);
    for (const [key, p] of Object.entries(panels)) p.hidden = key !== id;
    if (tabInUrl() !== id) history.replaceState(null, '', `${location.pathname}${location.search}${route}?tab=${id}`);
    if (current && stale.has(id)) {
      stale.delete(id);
      views[id].update(current);
    }
  };
  const tabs = tabBar(show);
  const body = h('div', { hidden: true }, [tabs.element, ...Object.values(panels), messages]);
  main.append(head, status, body);

  const load = async () => {
    try {
      const [, detail] = await Promise.all([loadGraph(), api(`/api/execution?${arn.startsWith('arn:') ? 'arn' : 'name'}=${encodeURIComponent(arn)}`)]);
      // Left while it loaded: the URL and the page are another page's now.
      if (left) return;
      const first = !current;
      current = detail;
      const e = detail.execution;
      fill(head, [
        h('h1', {}, ['Execution ', h('span', { class: 'mono' }, e.name), ' ', h('span', { class: `status status-${e.status}`, id: 'execution-status' }, e.status)]),
        h('p', {}, [
          `Started ${dateTime(e.startDate)}`,
          e.durationMs !== undefined ? ` · took ${duration(e.durationMs)}` : '',
          ` · ${e.messages} message${e.messages === 1 ? '' : 's'} `,
          outcomePills(e.counts, e.failedOver),
        ]),
        e.error ? h('p', { class: 'error' }, `${e.error}: ${e.cause ?? ''}`) : null,
        h('p', { class: 'muted mono' }, e.arn),
      ]);
      fill(messages, [h('h2', {}, `Messages of this batch (${detail.messages.length})`), messagesTable(detail)]);
      for (const [id] of TABS) stale.add(id);
      if (first) {
        status.remove();
        body.hidden = false;
      }
      show(shown);
      if (e.status === 'RUNNING') timer = setTimeout(load, 1000);
    } catch (error) {
      if (left) return;
      fill(status, h('p', { class: 'error' }, error.message));
      if (!status.isConnected) main.insertBefore(status, body);
    }
  };
  load();
  return () => {
    left = true;
    clearTimeout(timer);
  };
}
