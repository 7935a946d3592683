// Requests: one request_id's whole story: where it is now (which queue or DLQ holds it, with the
// reason, and the body of each copy as body.js shows it), its record in the idempotency table, and every
// execution whose batch held it.
import { messageBody } from './body.js';
import { api, dateTime, executionHref, fill, h, link, requestHref, stack } from './dom.js';

function now(story) {
  const rows = Object.fromEntries(story.record.rows);
  const parts = [];
  if (!story.record.found) parts.push('No record in the table (never claimed, or expired).');
  else if (story.record.invalid) parts.push(`The record is unreadable: ${story.record.invalid}.`);
  else parts.push(`Record ${rows.status}${rows.region && rows.region !== '(not yet)' ? ` (${rows.region})` : ''}.`);
  if (!story.held.length) parts.push('No queue or DLQ holds a copy now.');
  else parts.push(`${story.held.length} cop${story.held.length === 1 ? 'y' : 'ies'} held: ${story.held.map((m) => `${m.queue} (${m.state})`).join(', ')}.`);
  return parts.join(' ');
}

function show(target, story, kept = 'those the local endpoint keeps') {
  fill(target, [
    h('p', { id: 'request-summary' }, now(story)),
    ...story.warnings.map((w) => h('p', { class: 'error' }, w)),
    h('h2', {}, 'Where it is now'),
    story.held.length
      ? h('table', { id: 'held' }, [
          h('thead', {}, h('tr', {}, ['Queue', 'Kind', 'Region', 'State', 'Receives', 'Reason', 'Put there by'].map((t) => h('th', {}, t)))),
          h('tbody', {}, story.held.flatMap((m) => [
            h('tr', { dataset: { kind: m.kind } }, [
              h('td', { class: 'mono' }, m.queue),
              h('td', {}, m.kind),
              h('td', {}, m.region),
              h('td', {}, m.state),
              h('td', { class: 'num' }, m.receiveCount ?? ''),
              h('td', {}, m.reason ?? ''),
              h('td', {}, m.by ? `the ${m.by}${m.matchedBy === 'body' ? ' (request_id read from the body)' : ''}` : ''),
            ]),
            m.preview ? h('tr', { class: 'message-body-row', dataset: { messageId: m.messageId } }, h('td', { colspan: 7 }, messageBody(m.preview, m))) : null,
          ])),
        ])
      : h('p', { class: 'muted' }, 'In no queue and no DLQ: a worker took it, or it is on its way.'),
    h('h2', {}, 'Record in the idempotency table'),
    story.record.rows.length
      ? h('dl', { class: 'kv panel', id: 'record' }, story.record.rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono' }, v)]))
      : h('p', { class: 'muted' }, story.record.found ? 'Unreadable record.' : 'No record.'),
    h('h2', {}, `Executions (${story.executions.length})`),
    story.executions.length
      ? h('table', { id: 'request-executions' }, [
          h('thead', {}, h('tr', {}, ['Execution', 'Status', 'Started', 'Outcome', 'Region', 'Failed over', 'Reason'].map((t) => h('th', {}, t)))),
          h('tbody', {}, story.executions.map((e) =>
            h('tr', {}, [
              h('td', {}, link(executionHref(e.arn), e.name, { class: 'mono' })),
              h('td', {}, h('span', { class: `status status-${e.status}` }, e.status)),
              h('td', {}, dateTime(e.startDate)),
              h('td', {}, h('span', { class: `pill ${e.message.outcome}` }, e.message.outcome)),
              h('td', {}, e.message.region ?? ''),
              h('td', {}, e.message.failedOver ? `yes, from ${e.message.branch}` : 'no'),
              h('td', { class: 'muted' }, e.message.reason ?? ''),
            ]),
          )),
        ])
      : h('p', { class: 'muted' }, `In none of the executions: none of ${kept} (the intake dead-letters invalid messages before any execution).`),
  ]);
}

export function render(main, id) {
  const input = h('input', { type: 'search', name: 'request_id', placeholder: 'request_id, e.g. req-demo-0001', value: id ?? '', 'aria-label': 'request_id' });
  const result = h('div', { id: 'request-story' });
  const form = h('form', { class: 'toolbar' }, [input, h('button', { type: 'submit', class: 'primary' }, 'Look up')]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    if (location.hash === requestHref(value)) load(value);
    else location.hash = requestHref(value);
  });
  main.append(h('h1', {}, 'Requests'), form, result);
  let stopped = false;
  const load = async (value) => {
    fill(result, h('p', { class: 'muted' }, `Looking up ${value} in the executions, the table and the queues…`));
    try {
      const [story, info] = await Promise.all([api(`/api/requests?id=${encodeURIComponent(value)}`), stack().catch(() => ({}))]);
      if (!stopped) show(result, story, info.executionsKept);
    } catch (error) {
      if (!stopped) fill(result, h('p', { class: 'error' }, error.message));
    }
  };
  if (id) load(id);
  else input.focus();
  return () => (stopped = true);
}
