// The window: shows one screen per flow state and calls the preload API
// (window.helpdesk). It never talks to the network or to IPC directly.
const api = window.helpdesk;
const messages = await api.messages();
const profile = await api.getProfile();

function t(key, params = {}) {
  return (messages[key] ?? key).replace(/\{(\w+)\}/g, (m, name) => (params[name] == null ? m : String(params[name])));
}

document.documentElement.lang = t('meta.lang');
for (const el of document.querySelectorAll('[data-msg]')) el.textContent = t(el.dataset.msg);
document.getElementById('who').textContent = t('request.you', profile);
if (profile.notice) {
  const notice = document.getElementById('source-notice');
  notice.textContent = profile.notice;
  notice.hidden = false;
}
document.title = t('app.title');
// What it is about (issue 29): the server's topics in the user's language, when it has some.
const topics = typeof api.topics === 'function' ? await api.topics() : [];
if (topics.length) {
  const select = document.getElementById('topic');
  select.append(new Option(t('window.topicNone'), ''), ...topics.map((topic) => new Option(topic.name, String(topic.id))));
  select.hidden = false;
  document.querySelector('label[for="topic"]').hidden = false;
}

const screens = ['request', 'waiting', 'consent', 'session', 'ended'];
const screenFor = {
  idle: 'request',
  requesting: 'waiting',
  waiting_for_technician: 'waiting',
  technician_offered: 'consent',
  approved: 'session',
  connecting: 'session',
  waiting_for_viewer: 'session',
  in_session: 'session',
  ended: 'ended',
};

function render(s) {
  const screen = screenFor[s.state];
  document.body.dataset.state = s.state;
  for (const name of screens) document.getElementById(`screen-${name}`).hidden = name !== screen;
  // The core words the state (s.text); the window only places it.
  const text = s.state === 'idle' && !s.error ? '' : s.text;
  // Screens with a heading of their own say it there, once.
  document.getElementById('status').textContent = screen === 'session' || screen === 'consent' || screen === 'ended' ? '' : text;
  if (screen === 'consent') {
    document.getElementById('consent-title').textContent = text;
    document.getElementById('recording-notice').hidden = !s.recorded;
    document.getElementById('dont-ask-label').textContent = t('consent.dontAskAgain', { technician: s.technicianName ?? '' });
    document.getElementById('dont-ask-again').checked = false;
    document.getElementById('allow-control').focus();
    void showScreens();
  }
  if (screen === 'session') document.getElementById('banner').textContent = text;
  if (screen === 'ended') {
    document.getElementById('ended-title').textContent = text;
    // How it went (issue 29): asked once a session took place; thanked once answered.
    const survey = document.getElementById('survey');
    const asking = s.survey === 'ask';
    if (asking && survey.hidden) survey.reset();
    survey.hidden = !asking;
    document.getElementById('survey-thanks').hidden = s.survey !== 'sent';
    document.getElementById('again').classList.toggle('primary', !asking);
  }
}

/** On a machine with several monitors, the user chooses what to share before allowing. */
async function showScreens() {
  const choice = document.getElementById('screen-choice');
  const select = document.getElementById('screen-select');
  const screensList = await api.screens();
  choice.hidden = screensList.length < 2;
  select.replaceChildren(new Option(t('consent.allScreens'), ''), ...screensList.map((s) => new Option(s.label, s.name)));
}

const chosenScreen = () => document.getElementById('screen-select').value || null;

async function act(fn) {
  for (const b of document.querySelectorAll('button')) b.disabled = true;
  try {
    await fn();
  } catch (err) {
    document.getElementById('status').textContent = t('error.prefix', { message: err.message ?? String(err) });
  } finally {
    for (const b of document.querySelectorAll('button')) b.disabled = false;
  }
}

document.getElementById('request-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void act(() => api.requestHelp(document.getElementById('description').value, Number(document.getElementById('topic').value) || null));
});
document.getElementById('cancel').addEventListener('click', () => act(() => api.stop()));
document.getElementById('allow-control').addEventListener('click', () => act(() => api.allow(false, chosenScreen())));
document.getElementById('allow-view').addEventListener('click', () => act(() => api.allow(true, chosenScreen())));
document.getElementById('decline').addEventListener('click', () => act(() => api.decline(document.getElementById('dont-ask-again').checked)));
document.getElementById('stop').addEventListener('click', () => act(() => api.stop()));
document.getElementById('again').addEventListener('click', () => act(() => api.startOver()));
document.getElementById('survey').addEventListener('submit', (event) => {
  event.preventDefault();
  const picked = document.querySelector('input[name="rating"]:checked');
  if (!picked) {
    document.getElementById('status').textContent = t('survey.choose');
    return;
  }
  void act(() => api.answerSurvey(Number(picked.value), document.getElementById('survey-comment').value.trim() || null));
});
document.getElementById('survey-skip').addEventListener('click', () => act(() => api.skipSurvey()));

// The conversation: shown from the moment a request exists; messages are put on the page as text only.
const chatLog = document.getElementById('chat-log');
const shown = new Set();
function addMessage(m) {
  if (shown.has(m.id)) return;
  shown.add(m.id);
  const li = document.createElement('li');
  li.dataset.from = m.from;
  const who = document.createElement('strong');
  who.textContent = m.from === 'user' ? t('chat.you') : m.authorName;
  const text = document.createElement('p');
  text.textContent = m.text;
  li.append(who, text);
  chatLog.append(li);
  chatLog.scrollTop = chatLog.scrollHeight;
  document.getElementById('chat-empty').hidden = true;
}
function showChat(s) {
  const open = s.ticketId !== null && s.state !== 'idle';
  document.getElementById('chat').hidden = !open;
  if (!open) {
    chatLog.replaceChildren();
    shown.clear();
    document.getElementById('chat-empty').hidden = false;
  }
}
api.onChat(addMessage);

// Files: an offer shows its name, size and SHA-256 (as text) with Accept and Refuse.
const fileList = document.getElementById('file-list');
const sizeText = (n) => (n < 1024 ? `${n} bytes` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);
function showFile(f) {
  if (f.direction !== 'to_user') return;
  let li = fileList.querySelector(`li[data-file-id="${CSS.escape(f.id)}"]`);
  if (!li) {
    li = document.createElement('li');
    li.dataset.fileId = f.id;
    fileList.append(li);
  }
  li.dataset.state = f.state;
  const text = document.createElement('p');
  text.textContent = t('files.offered', { who: f.senderName, name: f.name, size: sizeText(f.size), sha256: f.sha256 });
  li.replaceChildren(text);
  if (f.state === 'offered') {
    const accept = document.createElement('button');
    accept.type = 'button';
    accept.className = 'primary';
    accept.textContent = t('files.accept');
    accept.addEventListener('click', () =>
      act(async () => {
        const path = await api.acceptFile(f.id);
        if (path) {
          const saved = document.createElement('p');
          saved.className = 'saved';
          saved.textContent = t('files.saved', { path });
          li.append(saved);
        }
      }),
    );
    const refuse = document.createElement('button');
    refuse.type = 'button';
    refuse.textContent = t('files.refuse');
    refuse.addEventListener('click', () => act(() => api.refuseFile(f.id)));
    li.append(accept, refuse);
  }
}
api.onFile(showFile);
document.getElementById('send-file').addEventListener('click', () => act(() => api.sendFile()));
document.getElementById('chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const box = document.getElementById('chat-text');
  void act(async () => {
    await api.say(box.value);
    box.value = '';
  });
});

// The other people in the session (issue 26): who asks to join, by name and
// mode, with Allow and Refuse; everyone connected with a Stop button; a
// supervisor who watches without asking is named. The core words each line.
const sharing = new Set(['approved', 'connecting', 'waiting_for_viewer', 'in_session']);
let peopleShown = '';
function button(text, className, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  if (className) b.className = className;
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}
function renderPeople(s) {
  const on = sharing.has(s.state);
  const people = on ? s.people ?? [] : [];
  const key = JSON.stringify([people, on ? s.holder : null]);
  if (key === peopleShown) return;
  peopleShown = key;
  const asks = people.filter((p) => p.question);
  document.getElementById('asks').hidden = asks.length === 0;
  document.getElementById('ask-list').replaceChildren(
    ...asks.map((p) => {
      const li = document.createElement('li');
      const question = document.createElement('p');
      question.textContent = p.question;
      li.append(
        question,
        button(t('participants.allow', { name: p.name }), 'primary', () => act(() => api.allowParticipant(p.technicianId))),
        button(t('participants.refuse', { name: p.name }), '', () => act(() => api.refuseParticipant(p.technicianId))),
      );
      return li;
    }),
  );
  const connected = people.filter((p) => p.line);
  const holder = on ? s.holder : null;
  document.getElementById('people').hidden = connected.length === 0;
  const items = [];
  if (holder) {
    const li = document.createElement('li');
    const span = document.createElement('span');
    span.textContent = holder;
    li.append(span);
    items.push(li);
  }
  for (const p of connected) {
    const li = document.createElement('li');
    const span = document.createElement('span');
    span.textContent = p.line;
    li.append(span, ' ', button(t('participants.stop', { name: p.name }), 'secondary', () => act(() => api.stopParticipant(p.technicianId))));
    items.push(li);
  }
  document.getElementById('people-list').replaceChildren(...items);
  document.getElementById('stop-everyone').hidden = connected.length === 0;
  const watching = document.getElementById('watching');
  const notices = connected.map((p) => p.notice).filter(Boolean);
  watching.textContent = notices.join(' ');
  watching.hidden = notices.length === 0;
}
document.getElementById('stop-everyone').addEventListener('click', () => act(() => api.stopEveryone()));

api.onState((s) => {
  render(s);
  showChat(s);
  renderPeople(s);
});
const initial = await api.getState();
render(initial);
showChat(initial);
renderPeople(initial);
for (const m of await api.conversation()) addMessage(m);
for (const f of await api.files()) showFile(f);
