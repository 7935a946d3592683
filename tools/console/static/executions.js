// Executions: a live list, newest first, filterable by status; polls the API every second.
import { api, dateTime, duration, executionHref, fill, h, link } from './dom.js';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];
const OUTCOMES = ['dispatched', 'duplicate', 'dead-lettered', 'retry'];

export function outcomePills(counts, failedOver) {
  if (!counts) return h('span', { class: 'muted' }, '…');
  return [
    ...OUTCOMES.filter((o) => counts[o]).map((o) => h('span', { class: `pill ${o}`, title: o }, `${counts[o]} ${o}`)),
    failedOver ? h('span', { class: 'pill failover', title: 'dispatched to another region than first chosen' }, `${failedOver} failed over`) : null,
  ];
}

function row(e) {
  return h('tr', { dataset: { name: e.name, status: e.status } }, [
    h('td', {}, link(executionHref(e.arn), e.name, { class: 'mono' })),
    h('td', {}, h('span', { class: `status status-${e.status}` }, e.status)),
    h('td', {}, dateTime(e.startDate)),
    h('td', { class: 'num' }, duration(e.durationMs)),
    h('td', { class: 'num' }, e.messages),
    h('td', {}, outcomePills(e.counts, e.failedOver)),
  ]);
}

/** What an empty list means: nothing yet, or nothing that matches the status filter. */
function emptyText(filter) {
  return filter
    ? `No ${filter} execution: none of the executions the local endpoint keeps matches the filter (choose “all statuses” to see them all).`
    : 'No executions yet: send some requests (npm run cli -- send).';
}

export function render(main) {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const status = h('select', { 'aria-label': 'status', name: 'status' }, [
    h('option', { value: '' }, 'all statuses'),
    ...STATUSES.map((s) => h('option', { value: s, selected: params.get('status') === s }, s)),
  ]);
  const tbody = h('tbody');
  const info = h('span', { class: 'muted', id: 'executions-info' });
  const problem = h('div');
  main.append(
    h('h1', {}, 'Executions'),
    h('div', { class: 'toolbar' }, [h('label', {}, ['Status ', status]), info, h('span', { class: 'muted' }, 'updates every second')]),
    problem,
    h('table', { id: 'executions' }, [
      h('thead', {}, h('tr', {}, ['Name', 'Status', 'Started', 'Duration', 'Messages', 'Outcomes'].map((t, i) => h('th', { class: i === 3 || i === 4 ? 'num' : '' }, t)))),
      tbody,
    ]),
  );
  let last = '';
  let stopped = false;
  const refresh = async () => {
    try {
      const data = await api(`/api/executions${status.value ? `?status=${status.value}` : ''}`);
      if (stopped) return;
      fill(problem);
      const key = JSON.stringify(data);
      if (key === last) return;
      last = key;
      info.textContent = `${data.total} execution${data.total === 1 ? '' : 's'}${data.total > data.executions.length ? `, newest ${data.executions.length} shown` : ''}`;
      fill(tbody, data.executions.length ? data.executions.map(row) : h('tr', {}, h('td', { colspan: 6, class: 'muted empty' }, emptyText(status.value))));
    } catch (error) {
      fill(problem, h('p', { class: 'error' }, error.message));
    }
  };
  status.addEventListener('change', () => {
    last = '';
    refresh();
  });
  refresh();
  const timer = setInterval(refresh, 1000);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
