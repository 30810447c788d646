// The participants panel (issue 26) on the viewer and the ticket page: who
// takes part in the ticket's session, with mode and state, kept live by the
// staff stream's `participant` events. The holder invites a colleague and
// hands over (to a colleague or back to the queue, with a note); a
// participant leaves; a watcher asks the user for control. What happens is
// said in words (the panel's status line).
//
// The panel tells the page's own script what happens to *this* technician
// ('self' events: handedOver, handedToQueue, stopped, promoted, left, refused,
// cancelled, allowed), which the viewer turns into its state.
import { events, onLive } from './events.js';
import { api } from './api.js';
import { t } from './i18n.js';
import { ask } from './ui.js';
import { OPEN_STATES, eventText, participantFacts } from './participant-words.js';

const me = Number(document.body.dataset.me);

export class ParticipantsPanel extends EventTarget {
  /** @param {HTMLElement} root the partial's section[data-participants] */
  constructor(root) {
    super();
    this.root = root;
    this.ticketId = Number(root.dataset.participants);
    this.list = [];
    this.handoverNote = null;
    this.colleagues = null;
    this.generation = 0;
    this.$ = (selector) => root.querySelector(selector);
    this.#wire();
    /** Resolves with this technician's place once the list is first read: { holder, mine }. */
    this.ready = this.reload();
    events.addEventListener('participant', (event) => this.#onEvent(JSON.parse(event.data)));
    // A hand-over the user allowed, an end: who holds and whether forms make sense change with the ticket.
    events.addEventListener('ticket', (event) => {
      const { ticket } = JSON.parse(event.data);
      if (ticket.id !== this.ticketId) return;
      root.dataset.open = String(ticket.status === 'approved' || ticket.status === 'in_session');
      void this.reload();
    });
    // Back from an interruption: what was missed is replayed, but a reset or a long gap is read again.
    onLive(() => {
      root.dataset.stream = 'on';
      void this.reload();
    });
  }

  /** This technician's place: holder, or their own open (or last) participant row. */
  place() {
    const holderRow = this.list.find((p) => p.holder) ?? null;
    const holder = holderRow?.technicianId === me;
    const rows = this.list.filter((p) => !p.holder && p.technicianId === me);
    const mine = rows.find((p) => OPEN_STATES.has(p.state)) ?? rows[rows.length - 1] ?? null;
    return { holder, mine, holderId: holderRow?.technicianId ?? null, holderName: holderRow?.displayName ?? null };
  }

  say(text) {
    this.$('.participants-status').textContent = text;
  }

  /** Reads the list again; resolves with this technician's place from the newest read (a read overtaken by a later one waits for it). */
  reload() {
    const generation = ++this.generation;
    const read = (async () => {
      try {
        const { participants, handoverNote } = await api(`/api/v1/tickets/${this.ticketId}/participants`);
        if (generation === this.generation) {
          this.list = participants;
          this.handoverNote = handoverNote ?? null;
          this.#render();
        }
      } catch (err) {
        // No longer allowed to read the list (handed over, left): the last list stays shown.
        if (err.status !== 403 && err.status !== 404) this.say(t('js.participants.failed', { message: err.message }));
      }
      // Overtaken (the stream came live meanwhile): the place is the later read's, never the empty list before any.
      return generation === this.generation ? this.place() : this.latest;
    })();
    this.latest = read;
    return read;
  }

  #render() {
    const list = this.$('.participant-list');
    const items = this.list.map((p) => {
      const li = document.createElement('li');
      li.dataset.technicianId = String(p.technicianId);
      li.dataset.state = p.state;
      li.dataset.mode = p.mode;
      if (p.holder) li.dataset.holder = 'true';
      const name = document.createElement('strong');
      name.textContent = p.technicianId === me ? t('js.participants.you', { name: p.displayName }) : p.displayName;
      const facts = document.createElement('span');
      facts.className = 'facts-line';
      facts.textContent = ` · ${participantFacts(p)}`;
      li.append(name, facts);
      if (p.note && p.note !== this.handoverNote) {
        const note = document.createElement('p');
        note.className = 'participant-note';
        note.textContent = t('js.participants.note', { name: p.invitedBy?.displayName ?? '', note: p.note });
        li.append(note);
      }
      return li;
    });
    if (this.list.filter((p) => !p.holder).length === 0) {
      const none = document.createElement('li');
      none.className = 'muted';
      none.textContent = t('js.participants.none');
      items.push(none);
    }
    list.replaceChildren(...items);
    // The last hand-over's note, for whoever holds the ticket now (and its page).
    const shown = this.$('.handover-note-shown');
    shown.hidden = !this.handoverNote;
    shown.textContent = this.handoverNote ? t('js.participants.handoverNote', { note: this.handoverNote }) : '';
    const { holder, mine } = this.place();
    const open = mine && OPEN_STATES.has(mine.state);
    const running = this.root.dataset.open === 'true';
    this.$('.participant-invite').hidden = !holder || !running;
    this.$('.participant-handover').hidden = !holder || !running;
    this.$('.participant-leave').hidden = holder || !open;
    this.$('.participant-ask-control').hidden = holder || !open || mine.mode !== 'view' || mine.state !== 'connected' || mine.controlRequested;
    if (holder && running) void this.#fillColleagues();
  }

  /** The colleagues one may invite (enabled, not me, not taking part yet) or hand over to (those, and participants connected with control). */
  async #fillColleagues() {
    this.colleagues ??= await api('/api/v1/colleagues').then(
      (r) => r.colleagues,
      (_notNow) => null,
    );
    const taken = new Set(this.list.filter((p) => p.holder || OPEN_STATES.has(p.state)).map((p) => p.technicianId));
    const inControl = new Set(this.list.filter((p) => !p.holder && p.state === 'connected' && p.mode === 'control').map((p) => p.technicianId));
    const free = (this.colleagues ?? []).filter((c) => c.id !== me && !taken.has(c.id));
    const heirs = (this.colleagues ?? []).filter((c) => c.id !== me && (!taken.has(c.id) || inControl.has(c.id)));
    for (const [select, keep, people] of [[this.$('.invite-colleague'), 0, free], [this.$('.handover-to'), 1, heirs]]) {
      const chosen = select.value;
      const options = people.map((c) => Object.assign(document.createElement('option'), { value: String(c.id), textContent: c.displayName }));
      select.replaceChildren(...[...select.options].slice(0, keep), ...options);
      if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
    }
    this.$('.invite-none').hidden = free.length > 0;
  }

  #wire() {
    this.$('.invite-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const select = this.$('.invite-colleague');
      if (!select.value) return this.say(t('js.participants.chooseColleague'));
      const mode = this.$('.invite-form input[name="mode"]:checked')?.value ?? 'view';
      const name = select.selectedOptions[0]?.textContent ?? '';
      await this.#act(() => api(`/api/v1/tickets/${this.ticketId}/invitations`, 'POST', { technicianId: Number(select.value), mode }), t('js.participants.sent', { name }));
    });
    this.$('.handover-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const select = this.$('.handover-to');
      const technicianId = select.value ? Number(select.value) : null;
      const name = select.selectedOptions[0]?.textContent ?? '';
      const note = this.$('.handover-note').value;
      const done = await this.#act(() => api(`/api/v1/tickets/${this.ticketId}/transfer`, 'POST', { technicianId, note }), technicianId === null ? t('js.participants.handedToQueue') : t('js.participants.handingOver', { name }));
      if (done) {
        this.$('.handover-note').value = '';
        if (technicianId === null) this.#self('handedToQueue', {});
        // Whom this page handed over to: the viewer's words when its channel closes HANDED_OVER before the event arrives.
        else this.handedTo = name;
      }
    });
    this.$('.participant-leave').addEventListener('click', async () => {
      if (!(await ask(t('js.participants.leaveConfirm'), t('js.participants.leaveOk')))) return;
      if (await this.#act(() => api(`/api/v1/tickets/${this.ticketId}/leave`, 'POST'), t('js.participants.youLeft'))) this.#self('left', {});
    });
    this.$('.participant-ask-control').addEventListener('click', () =>
      this.#act(() => api(`/api/v1/tickets/${this.ticketId}/participants/me/request-control`, 'POST'), t('js.participants.askedControl')),
    );
  }

  async #act(call, okText) {
    try {
      await call();
      this.say(okText);
      await this.reload();
      return true;
    } catch (err) {
      this.say(t('js.participants.failed', { message: err.message }));
      return false;
    }
  }

  #self(what, detail) {
    this.dispatchEvent(new CustomEvent('self', { detail: { what, ...detail } }));
  }

  #onEvent(data) {
    if (data.ticketId !== this.ticketId) return;
    const p = data.participant;
    const before = this.place();
    this.say(eventText(data));
    if (p.technicianId === me && !p.holder) {
      const own = { stopped: 'stopped', left: 'left', refused: 'refused', cancelled: 'cancelled' }[data.action];
      if (own) this.#self(own, {});
      else if (data.action === 'accepted') this.#self('accepted', {});
      else if (data.action === 'promoted') this.#self('promoted', { name: before.holderName ?? '' });
      else if (p.state === 'connected' && ['allowed', 'joined', 'transferred', 'control_granted'].includes(data.action)) this.#self('allowed', { mode: p.mode });
    } else if (p.technicianId === me && data.action === 'promoted') {
      this.#self('promoted', { name: before.holderName ?? '' });
    } else if (before.holder && p.state === 'connected' && (data.action === 'transferred' || (p.kind === 'transfer' && p.invitedBy?.id === me))) {
      // Handed over: to a colleague the user allowed, or at once to a participant already in control.
      this.#self('handedOver', { name: p.displayName });
    }
    void this.reload();
  }
}

/** The page's panel (one per page), made when this module loads. */
const root = document.querySelector('[data-participants]');
export const panel = root ? new ParticipantsPanel(root) : null;
