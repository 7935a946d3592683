// Regions: each region's queue depth, in flight, dispatched and failed-over counts over time (sampled
// by the server), its health, the capacity it is weighed by (set, estimated or configured) and its
// simulated workers, and the DLQs' depths. Polls the API every two seconds.
import { api, fill, h, time } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const SERIES = [
  ['visible', 'queue depth'],
  ['inFlight', 'in flight'],
  ['dispatched', 'dispatched / sample'],
  ['failedOver', 'failed over / sample'],
];

/** Per sample: the depths as they are, the cumulative counts as what changed since the sample before. */
function series(samples, region) {
  const points = samples.map((s) => s.regions[region]);
  return {
    visible: points.map((p) => p?.visible ?? 0),
    inFlight: points.map((p) => p?.inFlight ?? 0),
    dispatched: points.map((p, i) => (i === 0 ? 0 : Math.max(0, (p?.dispatched ?? 0) - (points[i - 1]?.dispatched ?? 0)))),
    failedOver: points.map((p, i) =>
      i === 0 ? 0 : Math.max(0, (p?.failedOverFrom ?? 0) + (p?.failedOverTo ?? 0) - (points[i - 1]?.failedOverFrom ?? 0) - (points[i - 1]?.failedOverTo ?? 0)),
    ),
  };
}

function chart(samples, region) {
  const data = series(samples, region);
  const W = 300;
  const H = 100;
  const max = Math.max(1, ...Object.values(data).flat().filter(Number.isFinite));
  const el = document.createElementNS(NS, 'svg');
  el.setAttribute('class', 'chart');
  el.setAttribute('viewBox', `0 0 ${W} ${H + 14}`);
  el.setAttribute('preserveAspectRatio', 'none');
  const n = samples.length;
  for (const [key] of SERIES) {
    const line = document.createElementNS(NS, 'polyline');
    line.setAttribute('class', `series-${key}`);
    line.setAttribute('data-series', key);
    line.setAttribute('points', data[key].map((v, i) => `${n <= 1 ? W : (i / (n - 1)) * W},${4 + (H - 4) * (1 - (Number.isFinite(v) ? v : 0) / max)}`).join(' '));
    el.append(line);
  }
  const label = document.createElementNS(NS, 'text');
  label.setAttribute('x', 4);
  label.setAttribute('y', 12);
  label.setAttribute('font-size', 10);
  label.setAttribute('fill', '#5f6b7a');
  label.textContent = `max ${max}`;
  const span = document.createElementNS(NS, 'text');
  span.setAttribute('x', W - 4);
  span.setAttribute('y', H + 12);
  span.setAttribute('font-size', 10);
  span.setAttribute('text-anchor', 'end');
  span.setAttribute('fill', '#5f6b7a');
  span.textContent = n ? `${time(samples[0].t)} – ${time(samples[n - 1].t)}` : '';
  el.append(label, span);
  return el;
}

function healthText(health) {
  if (!health) return h('span', { class: 'health-ok' }, 'healthy');
  const until = new Date(health.until).toLocaleTimeString([], { hour12: false });
  return h('span', { class: `health-${health.state}`, title: health.error }, health.state === 'open' ? `unhealthy until ${until}` : 'half-open (one canary per execution)');
}

const SOURCES = { set: 'set', estimated: 'estimated: in flight with a backlog', configured: 'configured' };

/** "4 (set)", "3 (estimated: in flight with a backlog)", "0 (set: drained)". */
function weighedBy(capacity) {
  if (!capacity) return '…';
  const { capacity: n, source } = capacity.effective;
  return `${n} (${SOURCES[source] ?? source}${source === 'set' && n === 0 ? ': drained' : ''})`;
}

function setText(capacity) {
  const s = capacity?.setting;
  return s ? `${s.capacity} by ${s.setBy} at ${new Date(s.setAt).toLocaleString([], { hour12: false })}` : 'not set';
}

function workersText(w) {
  return `${w.workers} (${w.busy} busy${w.retiring ? `, ${w.retiring} finishing before they stop` : ''})`;
}

function card(data, region) {
  const last = data.samples.at(-1)?.regions[region.region];
  const health = data.health[region.region];
  const capacity = data.capacities?.find((c) => c.region === region.region);
  const workers = data.workers?.find((w) => w.region === region.region);
  return h('section', { class: 'panel card', dataset: { region: region.region } }, [
    h('h2', {}, [region.region, healthText(health)]),
    h('dl', { class: 'kv' }, [
      ['queue', region.queue],
      ['weighed by', weighedBy(capacity)],
      ['capacity set', setText(capacity)],
      ['configured capacity', region.capacity],
      ...(workers ? [['workers', workersText(workers)]] : []),
      ['depth', last?.visible ?? '…'],
      ['in flight', last?.inFlight ?? '…'],
      ['dispatched', last?.dispatched ?? '…'],
      ['failed over from here', last?.failedOverFrom ?? '…'],
      ['failed over to here', last?.failedOverTo ?? '…'],
      ...(health ? [['last error', `${health.error} (${health.failures} failure${health.failures === 1 ? '' : 's'})`]] : []),
    ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', { dataset: { field: k } }, String(v))])),
    chart(data.samples, region.region),
    h('div', {}, SERIES.map(([key, label]) => h('span', { class: `key series-${key}` }, label))),
  ]);
}

export function render(main) {
  const content = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  main.append(h('h1', {}, 'Regions'), content);
  let stopped = false;
  const refresh = async () => {
    try {
      const data = await api('/api/regions');
      if (stopped) return;
      const last = data.samples.at(-1);
      fill(content, [
        // A deployed stage's figures are CloudWatch's, and the API says so.
        h('p', { class: 'muted', id: 'figures' }, `${data.figures ?? `Sampled every ${(data.intervalMs / 1000).toFixed(1)} s by the stack; dispatched and failed-over counts come from the executions as they finish.`} Master queue: ${last ? `${last.master.visible} waiting, ${last.master.inFlight} in flight` : '…'}.`),
        h('p', { class: 'muted' }, 'A region is weighed by the capacity set for it (npm run cli -- capacity set REGION N), else by its messages in flight when it has a backlog, never below its configured capacity.'),
        data.capacityWarning ? h('p', { class: 'error', id: 'capacity-warning' }, data.capacityWarning) : null,
        h('div', { class: 'cards' }, data.regions.map((r) => card(data, r))),
        h('h2', {}, 'Dead-letter queues'),
        h('table', { id: 'dlq-depths' }, [
          h('thead', {}, h('tr', {}, ['DLQ', 'Queue', 'Visible', 'In flight'].map((t, i) => h('th', { class: i > 1 ? 'num' : '' }, t)))),
          h('tbody', {}, data.dlqs.map((q) =>
            h('tr', { dataset: { dlq: q.label } }, [
              h('td', {}, q.label),
              h('td', { class: 'mono' }, q.name),
              h('td', { class: 'num' }, last?.dlqs[q.label]?.visible ?? '…'),
              h('td', { class: 'num' }, last?.dlqs[q.label]?.inFlight ?? '…'),
            ]),
          )),
        ]),
        h('p', {}, h('a', { href: '#/dead-letters' }, 'See what the dispatch and master DLQs hold, and redrive →')),
      ]);
    } catch (error) {
      if (!stopped) fill(content, h('p', { class: 'error' }, error.message));
    }
  };
  refresh();
  const timer = setInterval(refresh, 2000);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
