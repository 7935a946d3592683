// One execution: the deployed state machine as a graph, each state coloured by what happened to it in
// this execution; a click shows the state's visits (input, output, events in order); below, the batch's
// messages and what became of each.
import { api, dateTime, duration, fill, h, pretty, requestHref, link } from './dom.js';
import { drawGraph, legend, OUTCOME_LABEL } from './graph.js';
import { outcomePills } from './executions.js';

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

// The route names the execution by its ARN (the links) or by its name (a deep link a person types).
export function render(main, arn) {
  const head = h('div');
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  main.append(head, body);
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
  const load = async () => {
    try {
      const [layout, detail] = await Promise.all([loadGraph(), api(`/api/execution?${arn.startsWith('arn:') ? 'arn' : 'name'}=${encodeURIComponent(arn)}`)]);
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
      graph = drawGraph(layout, detail.model.states, choose, detail.model.transitions);
      panel = h('div', { class: 'panel details', id: 'state-details' }, overview(detail, choose));
      fill(body, [
        legend(),
        h('div', { class: 'execution-layout' }, [graph.element, panel]),
        h('h2', {}, `Messages of this batch (${detail.messages.length})`),
        messagesTable(detail),
      ]);
      if (selected) choose(selected);
      if (e.status === 'RUNNING') timer = setTimeout(load, 1000);
    } catch (error) {
      fill(body, h('p', { class: 'error' }, error.message));
    }
  };
  load();
  return () => clearTimeout(timer);
}
