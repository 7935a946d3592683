// The execution page's tabs beside the graph: the table of events, the timeline, the input and output,
// and the definition. Each view is built once ({ element, update(detail) }) and keeps what a person chose
// (filters, page, rows opened, groups folded) while a running execution refreshes it. The rows, bars and
// size caps come from the server (console/execution-views.ts); these only draw them, as text.
import { api, h } from './dom.js';

const PAGE_SIZES = [25, 50, 100, 250];
/** Past this many bars, the timeline opens with every Map and Parallel folded. */
const FOLD_ABOVE = 200;

const ms = (value) => `${Math.round(value)} ms`;
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const clock = (epochMs) => {
  const d = new Date(epochMs);
  const two = (n) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
};
/** A Lambda ARN by its function's name; any other resource as it is. */
const shortResource = (resource) => /:function:([^:]+)/.exec(resource ?? '')?.[1] ?? resource ?? '';
const position = (el, styles) => (Object.assign(el.style, styles), el);

/** A size-capped text ({ text, bytes, moreBytes }) as a <pre>, and what was left out. */
function cappedBlock(capped, attrs = {}) {
  return [
    h('pre', attrs, capped.text),
    capped.moreBytes ? h('p', { class: 'muted more-bytes' }, `… ${capped.moreBytes} more bytes (${capped.bytes} in all)`) : null,
  ];
}

/** A button that copies `text()` to the clipboard and says whether it did. */
function copyButton(label, text) {
  const said = h('span', { class: 'muted copy-status', role: 'status' });
  const button = h('button', {
    type: 'button',
    class: 'copy',
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text());
        said.textContent = 'Copied.';
      } catch (error) {
        said.textContent = `Not copied: ${error.message}`;
      }
    },
  }, label);
  return h('span', { class: 'copy-wrap' }, [button, ' ', said]);
}

// ---- Table of events ----

const EVENT_FILTERS = [
  ['all', 'All events', () => true],
  ['failed', 'Failed events only', (r) => r.failed],
  ['state', 'States entered and exited', (r) => r.group === 'state'],
  ['task', 'Task events', (r) => r.group === 'task'],
  ['container', 'Map and Parallel events', (r) => r.group === 'container'],
  ['execution', 'Execution events', (r) => r.group === 'execution'],
];

/** What the text filter looks in: what the row shows, its details included. */
const haystack = (r) =>
  [r.id, r.type, r.step, r.resource, r.iteration, ...r.fields.map((f) => `${f.name} ${f.text}`)].filter((x) => x !== undefined).join('\n').toLowerCase();

function eventDetails(row) {
  if (!row.fields.length) return h('p', { class: 'muted' }, 'No details.');
  return h('div', { class: 'event-fields' }, row.fields.map((f) =>
    h('div', { class: 'event-field', dataset: { field: f.name } }, [h('h4', {}, f.name), ...cappedBlock(f)]),
  ));
}

export function eventsView() {
  const chosen = { filter: 'all', text: '', page: 0, size: 100, open: new Set() };
  let rows = [];
  let texts = [];
  const select = h('select', { name: 'event-filter', 'aria-label': 'Event type', onchange: () => ((chosen.filter = select.value), (chosen.page = 0), draw()) },
    EVENT_FILTERS.map(([value, label]) => h('option', { value }, label)));
  const search = h('input', {
    type: 'search',
    name: 'event-search',
    'aria-label': 'Filter events by text',
    placeholder: 'Filter by text',
    oninput: () => ((chosen.text = search.value.trim().toLowerCase()), (chosen.page = 0), draw()),
  });
  const count = h('span', { class: 'muted', id: 'events-count' });
  const size = h('select', { name: 'page-size', 'aria-label': 'Events per page', onchange: () => ((chosen.size = Number(size.value)), (chosen.page = 0), draw()) },
    PAGE_SIZES.map((n) => h('option', { value: n, selected: n === chosen.size }, `${n} per page`)));
  const previous = h('button', { type: 'button', 'data-page': 'previous', onclick: () => ((chosen.page -= 1), draw()) }, '‹ Previous');
  const next = h('button', { type: 'button', 'data-page': 'next', onclick: () => ((chosen.page += 1), draw()) }, 'Next ›');
  const tbody = h('tbody');
  const columns = ['', 'ID', 'Type', 'Step', 'Resource', 'Iteration', 'Started', 'Elapsed (ms)'];
  const element = h('div', { class: 'events-view' }, [
    h('div', { class: 'toolbar' }, [select, search, count]),
    h('table', { id: 'event-history' }, [h('thead', {}, h('tr', {}, columns.map((c, i) => h('th', { class: i === 1 || i === 7 ? 'num' : undefined }, c)))), tbody]),
    h('div', { class: 'toolbar pager' }, [size, previous, next]),
  ]);

  const toggle = (row) => {
    if (chosen.open.has(row.id)) chosen.open.delete(row.id);
    else chosen.open.add(row.id);
    draw();
  };

  const line = (row) => {
    const open = chosen.open.has(row.id);
    return h('tr', { class: `event-row${row.failed ? ' failed' : ''}`, dataset: { eventId: row.id, type: row.type, group: row.group }, onclick: () => toggle(row) }, [
      h('td', {}, h('button', {
        type: 'button',
        class: 'expand',
        'aria-expanded': String(open),
        'aria-label': `${open ? 'Hide' : 'Show'} the details of event ${row.id}`,
        onclick: (ev) => (ev.stopPropagation(), toggle(row)),
      }, open ? '▾' : '▸')),
      h('td', { class: 'num mono' }, row.id),
      h('td', { class: 'mono event-type' }, row.type),
      h('td', { class: 'step' }, row.step ?? ''),
      h('td', { class: 'mono resource', title: row.resource }, shortResource(row.resource)),
      h('td', { class: 'iteration' }, row.iteration ?? ''),
      h('td', { class: 'mono', title: new Date(row.timestamp).toISOString() }, clock(row.timestamp)),
      h('td', { class: 'num mono elapsed' }, Math.round(row.elapsedMs)),
    ]);
  };

  function draw() {
    const keep = (EVENT_FILTERS.find(([value]) => value === chosen.filter) ?? EVENT_FILTERS[0])[2];
    const shown = [];
    rows.forEach((r, i) => keep(r) && (!chosen.text || texts[i].includes(chosen.text)) && shown.push(r));
    const pages = Math.max(1, Math.ceil(shown.length / chosen.size));
    chosen.page = Math.min(Math.max(0, chosen.page), pages - 1);
    const first = chosen.page * chosen.size;
    const page = shown.slice(first, first + chosen.size);
    tbody.replaceChildren(
      ...(page.length
        ? page.flatMap((r) => [line(r), chosen.open.has(r.id) ? h('tr', { class: 'event-details', dataset: { eventId: r.id } }, h('td', { colspan: columns.length }, eventDetails(r))) : null].filter(Boolean))
        : [h('tr', {}, h('td', { colspan: columns.length, class: 'empty muted' }, rows.length ? 'No event matches the filter.' : 'No events.'))]),
    );
    const filtered = shown.length === rows.length ? '' : ` (of ${rows.length})`;
    count.textContent = shown.length ? `Events ${first + 1}–${first + page.length} of ${shown.length}${filtered}` : `0 events${filtered}`;
    previous.disabled = chosen.page === 0;
    next.disabled = chosen.page >= pages - 1;
  }

  return {
    element,
    update(detail) {
      rows = detail.history;
      texts = rows.map(haystack);
      draw();
    },
  };
}

// ---- Timeline ----

const barLabel = (b) => (b.kind === 'iteration' ? `Iteration ${b.iteration}` : b.name);

/** The exact figures of a bar, as hover and focus show them. */
function figures(b) {
  const what = b.kind === 'iteration' ? `${b.name}, iteration ${b.iteration}` : `${b.name} (${b.type})`;
  const parts = [
    `${what}: ${b.outcome}`,
    `entered at +${ms(b.startMs)}`,
    b.ended ? `exited at +${ms(b.endMs)}, took ${ms(b.endMs - b.startMs)}` : `not exited (to +${ms(b.endMs)})`,
  ];
  if (b.attempts.length > 1 || b.attempts.some((a) => a.outcome !== 'succeeded')) {
    parts.push(
      `${plural(b.attempts.length, 'attempt')}: ` +
        b.attempts.map((a, i) => `#${i + 1} +${ms(a.startMs)} to +${ms(a.endMs)} ${a.outcome}${a.error ? ` (${a.error})` : ''}`).join('; '),
    );
  }
  return parts.join(' · ');
}

export function timelineView() {
  const folded = new Set();
  let initialised = false;
  let current;
  const said = h('p', { class: 'timeline-figures', id: 'timeline-figures', 'aria-live': 'polite' }, 'Hover or focus a bar to see its figures.');
  const chart = h('div', { class: 'gantt', id: 'timeline', role: 'list', 'aria-label': 'timeline of the states entered' });
  const legend = h('div', { class: 'legend' }, [
    ...['succeeded', 'retried', 'caught', 'failed', 'running'].map((o) => h('span', { class: `chip outcome-${o}` }, o)),
    h('span', { class: 'chip attempt-key' }, [h('span', { class: 'attempt attempt-failed' }), ' failed attempt (retried or caught)']),
  ]);
  const element = h('div', { class: 'timeline-view' }, [legend, said, chart]);

  const show = (b) => (said.textContent = figures(b));

  function bar(b, total) {
    const pct = (v) => `${(Math.max(0, v) / total) * 100}%`;
    const track = h('div', { class: 'gantt-track' }, [
      position(h('div', { class: `bar outcome-${b.outcome}${b.ended ? '' : ' open'}`, tabindex: 0, 'aria-label': figures(b), title: figures(b), onmouseenter: () => show(b), onfocus: () => show(b) },
        b.retries ? h('span', { class: 'retries' }, `↻${b.retries}`) : null), { left: pct(b.startMs), width: pct(b.endMs - b.startMs) }),
      // A Task's attempts on its bar when it failed any: the failed ones stand out, the gap between them is the retry's wait.
      ...(b.attempts.some((a) => a.outcome !== 'succeeded') ? b.attempts : []).map((a, i) => position(h('div', { class: `attempt attempt-${a.outcome}`, dataset: { attempt: i + 1 } }), { left: pct(a.startMs), width: pct(a.endMs - a.startMs) })),
    ]);
    const fold = b.children
      ? h('button', {
          type: 'button',
          class: 'fold',
          'aria-expanded': String(!folded.has(b.key)),
          'aria-label': `${folded.has(b.key) ? 'Show' : 'Hide'} what ran inside ${barLabel(b)}`,
          onclick: () => (folded.has(b.key) ? folded.delete(b.key) : folded.add(b.key), draw()),
        }, folded.has(b.key) ? '▸' : '▾')
      : h('span', { class: 'fold-space' });
    const label = position(h('div', { class: 'gantt-label', title: b.kind === 'iteration' ? `${b.name} iteration ${b.iteration}` : `${b.name} (${b.type})` }, [fold, h('span', {}, barLabel(b))]), {
      paddingLeft: `${b.depth * 14}px`,
    });
    return h('div', { class: `gantt-row kind-${b.kind}`, role: 'listitem', dataset: { key: b.key, state: b.name, kind: b.kind, outcome: b.outcome, ...(b.kind === 'iteration' ? { iteration: b.iteration } : {}) } }, [label, track]);
  }

  function draw() {
    const { totalMs, axis, bars } = current;
    const hidden = new Set();
    const visible = bars.filter((b) => {
      if (b.parentKey && (hidden.has(b.parentKey) || folded.has(b.parentKey))) {
        hidden.add(b.key);
        return false;
      }
      return true;
    });
    const ticks = h('div', { class: 'gantt-track gantt-axis' }, axis.map((t) => position(h('span', { class: 'tick' }, t.label), { left: `${(t.ms / totalMs) * 100}%` })));
    chart.replaceChildren(
      h('div', { class: 'gantt-row gantt-head' }, [h('div', { class: 'gantt-label' }, `${plural(bars.length, 'bar')} · ${totalMs < 2000 ? ms(totalMs) : `${(totalMs / 1000).toFixed(2)} s`}`), ticks]),
      ...(visible.length ? visible.map((b) => bar(b, totalMs)) : [h('p', { class: 'muted' }, 'No state was entered.')]),
    );
  }

  return {
    element,
    update(detail) {
      current = detail.timeline;
      if (!initialised && current.bars.length > FOLD_ABOVE) for (const b of current.bars) if (b.children && b.kind === 'state') folded.add(b.key);
      initialised = true;
      draw();
    },
  };
}

// ---- Input & output ----

const prettyWhole = (text) => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

function ioSection(title, id, capped, whole) {
  return h('section', { class: 'io-section', dataset: { part: id } }, [
    h('div', { class: 'io-head' }, [h('h3', {}, title), capped ? copyButton(`Copy ${title.toLowerCase()}`, () => prettyWhole(whole)) : null]),
    capped ? cappedBlock(capped, { id: `execution-${id}`, class: 'io' }) : null,
  ]);
}

export function ioView() {
  const element = h('div', { class: 'io-view' });
  return {
    element,
    update(detail) {
      const { io, execution: e } = detail;
      const outputMissing = e.status === 'RUNNING' ? 'No output yet: the execution is running.' : `No output: the execution ${e.status}.`;
      element.replaceChildren(
        ...(io.error !== undefined
          ? [
              h('section', { class: 'io-section io-error', dataset: { part: 'error' } }, [
                h('h3', {}, 'Error'),
                h('p', { class: 'error', id: 'execution-error' }, io.error),
              ]),
              io.cause ? ioSection('Cause', 'cause', io.cause, e.cause) : null,
            ]
          : []),
        io.input ? ioSection('Input', 'input', io.input, e.input) : h('p', { class: 'muted' }, 'No input recorded.'),
        io.output ? ioSection('Output', 'output', io.output, e.output) : h('section', { class: 'io-section', dataset: { part: 'output' } }, [h('h3', {}, 'Output'), h('p', { class: 'muted', id: 'execution-output-missing' }, outputMissing)]),
      );
    },
  };
}

// ---- Definition ----

/** States at every level: the top's, every Parallel branch's, every Map's iteration's. */
const countStates = (machine) =>
  Object.values(machine?.States ?? {}).reduce((n, s) => n + 1 + (s.Branches ?? []).reduce((k, b) => k + countStates(b), 0) + countStates(s.ItemProcessor ?? s.Iterator), 0);

/** The deployed definition (GET /api/definition, read once per page). */
export function definitionView() {
  const element = h('div', { class: 'definition-view' }, h('p', { class: 'muted' }, 'Loading…'));
  let loading;
  return {
    element,
    update() {
      loading ??= api('/api/definition').then(
        (d) => {
          const text = JSON.stringify(d.definition, null, 2);
          element.replaceChildren(
            h('div', { class: 'io-head' }, [
              h('h3', {}, ['Deployed definition of ', h('span', { class: 'mono' }, d.stateMachineArn)]),
              copyButton('Copy definition', () => text),
            ]),
            h('p', { class: 'muted' }, `${plural(countStates(d.definition), 'state')}, ${new TextEncoder().encode(text).length} bytes as shown (Amazon States Language, JSONPath).`),
            h('pre', { id: 'definition-json', class: 'definition' }, text),
          );
        },
        (error) => {
          loading = undefined;
          element.replaceChildren(h('p', { class: 'error' }, error.message));
        },
      );
    },
  };
}
