// Dead letters: what the dispatch and master DLQs hold, grouped by reason (as `dlq` lists them), and a
// redrive (all, a reason, or one request) with the CLI's rules: a dry run first, shown for confirmation,
// then the move (as `redrive` makes it). Each message's body and attributes open under its row (body.js).
import { messageBody } from './body.js';
import { api, dateTime, fill, h, link, post, requestHref } from './dom.js';

// Every DLQ the API lists (tools/ops/dlq-model.ts DLQ_KINDS); an unknown one is shown by its kind.
const LABEL = { dispatch: 'Dispatch DLQ', master: 'Master DLQ', 'master-high': 'Master high DLQ' };
const label = (queue) => LABEL[queue] ?? `DLQ ${queue}`;

function entriesTable(entries) {
  return h('table', { class: 'entries' }, [
    h('thead', {}, h('tr', {}, ['request_id', 'Outcome', 'Record', 'What and why'].map((t) => h('th', {}, t)))),
    h('tbody', {}, entries.map((e) =>
      h('tr', { dataset: { outcome: e.outcome } }, [
        h('td', { class: 'mono' }, e.requestId ?? `(none) ${e.messageId.slice(0, 8)}`),
        h('td', {}, h('span', { class: `pill ${e.outcome === 'moved' || e.outcome === 'would-move' ? 'dispatched' : e.outcome === 'failed' ? 'dead-lettered' : 'duplicate'}` }, e.outcome)),
        h('td', {}, e.recordBefore ?? ''),
        h('td', { class: 'muted' }, e.detail),
      ]),
    )),
  ]);
}

/** The confirmation step: a dry run, shown; then the move, if confirmed. */
function redriveDialog(selection, title, done) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Checking what would move (dry run: nothing moves yet)…'));
  const confirm = h('button', { type: 'button', class: 'danger', disabled: true, id: 'confirm-redrive' }, 'Redrive');
  const cancel = h('button', { type: 'button' }, 'Cancel');
  const dialog = h('dialog', { id: 'redrive-dialog' }, [h('h2', {}, title), body, h('div', { class: 'dialog-actions' }, [cancel, confirm])]);
  document.body.append(dialog);
  dialog.showModal();
  const close = (changed) => {
    dialog.close();
    dialog.remove();
    if (changed) done();
  };
  cancel.addEventListener('click', () => close(false));
  dialog.addEventListener('cancel', () => close(false));
  post('/api/redrive', { ...selection, dryRun: true })
    .then((plan) => {
      const moving = plan.counts['would-move'];
      fill(body, [
        h('p', { id: 'redrive-plan' }, `${moving} message${moving === 1 ? '' : 's'} would move back to the master queue ${plan.to.name}; ${plan.counts.skipped} would be skipped${plan.notSelected ? `, ${plan.notSelected} not selected` : ''}.`),
        h('p', { class: 'muted' }, 'Per message: a DEAD_LETTERED record is set REDRIVEN, the original body is sent to the master queue, and only then is the message deleted from the DLQ. A message whose record says DISPATCHED is a duplicate and stays.'),
        entriesTable(plan.entries),
      ]);
      confirm.textContent = `Redrive ${moving} message${moving === 1 ? '' : 's'}`;
      confirm.disabled = moving === 0;
    })
    .catch((error) => fill(body, h('p', { class: 'error' }, error.message)));
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    cancel.disabled = true;
    fill(body, h('p', { class: 'muted' }, 'Redriving…'));
    try {
      const result = await post('/api/redrive', { ...selection, dryRun: false });
      fill(body, [
        h('p', { id: 'redrive-result' }, `${result.counts.moved} moved, ${result.counts.skipped} skipped, ${result.counts.failed} failed.`),
        entriesTable(result.entries),
      ]);
    } catch (error) {
      fill(body, h('p', { class: 'error' }, error.message));
    }
    cancel.disabled = false;
    cancel.textContent = 'Close';
    confirm.remove();
    cancel.onclick = () => close(true);
  });
}

function queueSection(listing, reload) {
  // Only the master DLQ's messages are listed with what their record says.
  const withRecord = listing.messages.some((m) => m.record);
  const columns = withRecord ? 6 : 5;
  // As `redrive --reason TEXT`: every message whose reason contains the text (case-insensitive).
  const reasonText = h('input', { type: 'text', placeholder: 'reason contains…', 'aria-label': 'reason contains' });
  const reasonFilter = h('span', {}, [
    reasonText,
    ' ',
    h('button', {
      type: 'button',
      'data-action': 'redrive-reason',
      onclick: () => {
        const reason = reasonText.value.trim();
        if (reason) redriveDialog({ queue: listing.queue, reason }, `Redrive where the reason contains “${reason}”`, reload);
      },
    }, 'Redrive by reason'),
  ]);
  const redriveButton = (label, selection, title, attrs = {}) =>
    h('button', { type: 'button', ...attrs, onclick: () => redriveDialog({ queue: listing.queue, ...selection }, title, reload) }, label);
  return h('section', { class: 'panel', dataset: { queue: listing.queue } }, [
    h('h2', {}, [`${label(listing.queue)} `, h('span', { class: 'mono muted' }, listing.name)]),
    h('div', { class: 'toolbar' }, [
      h('span', { class: 'queue-count' }, `${listing.read} message${listing.read === 1 ? '' : 's'} read (SQS approximate: ${listing.approximate.visible} visible, ${listing.approximate.inFlight} in flight)`),
      listing.read ? redriveButton(`Redrive all ${listing.read}`, {}, `Redrive everything in the ${label(listing.queue)}`, { class: 'primary', 'data-action': 'redrive-all' }) : null,
      listing.read ? reasonFilter : null,
    ]),
    ...listing.warnings.map((w) => h('p', { class: 'error' }, w)),
    ...listing.groups.map((group) => {
      const messages = listing.messages.filter((m) => m.reason === group.reason);
      // A group is selected by its request_ids, which picks exactly its messages (a reason is matched as a
      // substring, and the master DLQ's groups add what the record says); by its reason only when some of
      // its messages have no request_id. The dry run shows what the selection takes either way.
      const selection = group.withoutRequestId || !group.requestIds.length ? { reason: group.reason } : { requestIds: group.requestIds };
      return h('div', { class: 'group', dataset: { reason: group.reason } }, [
        h('header', {}, [
          h('span', { class: 'count' }, group.count),
          h('span', { class: 'reason' }, group.reason),
          redriveButton(group.count === 1 ? 'Redrive it' : `Redrive these ${group.count}`, selection, `Redrive: ${group.reason}`, { 'data-action': 'redrive-group' }),
        ]),
        h('details', {}, [
          h('summary', {}, `${group.requestIds.length} request_id${group.requestIds.length === 1 ? '' : 's'}${group.withoutRequestId ? `, ${group.withoutRequestId} without request_id` : ''}`),
          h('table', {}, [
            h('thead', {}, h('tr', {}, ['request_id', 'Message', withRecord ? 'Record' : null, 'Receives', 'Sent', ''].filter((t) => t !== null).map((t) => h('th', {}, t)))),
            h('tbody', {}, messages.flatMap((m) => [
              h('tr', { dataset: { requestId: m.requestId ?? '' } }, [
                h('td', {}, m.requestId ? link(requestHref(m.requestId), m.requestId, { class: 'mono' }) : h('span', { class: 'muted' }, '(none)')),
                h('td', { class: 'mono', title: m.messageId }, m.messageId.slice(0, 8)),
                withRecord ? h('td', {}, m.record ?? '') : null,
                h('td', { class: 'num' }, m.receiveCount ?? ''),
                h('td', {}, m.sentAt ? dateTime(Date.parse(m.sentAt)) : ''),
                h('td', {}, m.requestId ? redriveButton('Redrive', { requestIds: [m.requestId] }, `Redrive ${m.requestId}`, { 'data-action': 'redrive-one' }) : ''),
              ]),
              m.preview
                ? h('tr', { class: 'message-body-row', dataset: { messageId: m.messageId } }, h('td', { colspan: columns }, messageBody(m.preview, m)))
                : null,
            ])),
          ]),
        ]),
      ]);
    }),
    listing.read ? null : h('p', { class: 'empty' }, 'Empty.'),
  ]);
}

/**
 * A read-only console (a deployed stage started without --allow-redrive): the redrive controls stay in
 * place, disabled, and the page says why.
 */
function disableRedrive(content, stack) {
  for (const control of content.querySelectorAll('section[data-queue] button, section[data-queue] input')) {
    control.disabled = true;
    control.title = 'read-only console';
  }
  content.prepend(h('p', { class: 'read-only', id: 'read-only' }, `This console of ${stack.source} is read-only: start it with --allow-redrive to move messages.`));
}

export function render(main) {
  const content = h('div', { id: 'dead-letters' }, h('p', { class: 'muted' }, 'Reading the DLQs…'));
  const refresh = h('button', { type: 'button', onclick: () => load() }, 'Refresh');
  main.append(h('h1', {}, 'Dead letters'), h('div', { class: 'toolbar' }, [refresh, h('span', { class: 'muted' }, 'Reading makes no message leave its DLQ: each is made visible again at once.')]), content);
  let stopped = false;
  const stack = api('/api/stack').catch(() => ({}));
  const load = async () => {
    refresh.disabled = true;
    try {
      const data = await api('/api/dead-letters');
      const s = await stack;
      if (!stopped) fill(content, [...data.queues.map((l) => queueSection(l, load)), h('p', { class: 'muted' }, data.note)]);
      if (!stopped && s.readOnly) disableRedrive(content, s);
    } catch (error) {
      if (!stopped) fill(content, h('p', { class: 'error' }, error.message));
    }
    refresh.disabled = false;
  };
  load();
  return () => (stopped = true);
}
