// Parley web client: plain ES2020, no build step, nothing fetched from
// anywhere but this daemon. Message content is only ever put into the page
// as text (textContent, text nodes), never as HTML.
'use strict';
(() => {
  const PAGE = 100; // messages per history page
  const TYPING_SHOW_MS = 6000;
  const TYPING_SEND_MS = 3000;
  const EVENT_TYPES = ['message', 'status', 'peer', 'typing', 'presence', 'room', 'read', 'receipt', 'members', 'notify', 'file.progress', 'file.complete', 'file.failed', 'ephemeral'];
  // The message kinds a timeline shows; others (a private room's "op"
  // and "key" messages, kinds this client does not know) are hidden.
  // "ephemeral" is this client's own: a slash command's answer for this
  // user only (an "ephemeral" event), kept in this page only.
  const SHOWN_KINDS = new Set(['text', 'join', 'leave', 'ephemeral']);
  const MAX_EPHEMERAL = 50; // ephemeral answers kept per conversation
  // Messages that act on another (its "target"): never a line of their
  // own; the target is fetched again and shown as it now is.
  const OPS = new Set(['edit', 'delete', 'react']);
  const COMMON_EMOJI = ['👍', '❤️', '😄', '🎉', '🙏', '👀', '🚀', '👎'];
  const FLASH_MS = 4000; // how long a message jumped to stays highlighted
  const SEARCH_LIMIT = 50;
  const INVITE_PREFIX = 'parley://invite/';
  const MAX_INVITE_USES = 10000; // what the daemon allows an invite

  const $ = (id) => document.getElementById(id);
  const state = {
    me: null, // GET /id
    peers: new Map(), // peer ID -> peer
    convs: [], // GET /conversations
    rooms: new Map(), // room name -> GET /rooms entry
    cur: null, // {with, conv, room, peer}
    msgs: [], // the open conversation, oldest first (shown kinds only)
    oldest: null, // the ID of the oldest message fetched, shown or not: where older pages start
    members: [], // the open room's members (GET /rooms/{name}/members)
    byId: new Map(),
    hasMore: false,
    loading: false,
    pageP: null, // the open conversation's first page, while it loads
    olderP: null, // an older page, while it loads
    parents: new Map(), // message ID -> a quoted message not in view (GET /messages/{id})
    replyTo: null, // the message the composer's next message quotes
    thread: null, // the thread panel: {root, msgs, byId, loading}
    editing: null, // {id, where}: the message being edited, and in which list
    picking: null, // {id, where}: the message whose emoji picker is open
    flash: null, // {id, until}: the message jumped to
    seq: 0, // bumped on every conversation switch
    typers: new Map(), // peer ID -> timer
    lastTyping: 0,
    es: null,
    sseBroken: false,
    retry: 0,
    ephemeral: new Map(), // conversation -> its ephemeral answers (pseudo-messages), oldest first
    ephemeralSeq: 0,
  };

  // ---- API ----

  class APIError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (method !== 'GET') {
      opts.headers['Content-Type'] = 'application/json';
      if (body !== undefined) opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch('/api/v1/' + path, opts);
    } catch (_) {
      throw new APIError(0, 'The daemon does not answer: is it running?');
    }
    let data = null;
    try {
      data = await res.json();
    } catch (_) { /* not JSON */ }
    if (!res.ok) {
      if (res.status === 401) showLogin();
      throw new APIError(res.status, (data && data.error) || `${res.status} ${res.statusText}`);
    }
    return data;
  }

  const query = (params) => new URLSearchParams(params).toString();

  // ---- helpers ----

  // el builds an element (rich.js; attribute names are always literals).
  const el = ParleyRich.el;

  const short = (id) => (id.length > 8 ? id.slice(-8) : id);
  const shown = (m) => SHOWN_KINDS.has(m.kind);
  const isMe = (id) => state.me !== null && id === state.me.peer_id;

  // nickOf names a peer by the display name the node gives it (the
  // nickname; "nick (SHORTID)" while another peer shares it; "✓" after a
  // verified peer), this node by its nickname. fallback: how a message
  // named its author, for a peer not in the peer list.
  function nickOf(id, fallback) {
    if (isMe(id)) return state.me.nick || 'me';
    const p = state.peers.get(id);
    return (p && (p.display || p.nick)) || fallback || short(id);
  }

  function colorClass(id) {
    let h = 0;
    for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) >>> 0;
    return 'c' + (h % 12);
  }

  const pad = (n) => String(n).padStart(2, '0');
  const hhmm = (d) => pad(d.getHours()) + ':' + pad(d.getMinutes());
  const dayKey = (d) => `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;

  function dayLabel(d) {
    const today = new Date();
    const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (dayKey(d) === dayKey(today)) return 'Today';
    if (dayKey(d) === dayKey(yesterday)) return 'Yesterday';
    return d.toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
  }

  let noticeTimer = null;
  function showNotice(text) {
    const n = $('notice');
    n.textContent = text;
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { n.hidden = true; }, 8000);
  }

  function showLogin() {
    if (state.es) state.es.close();
    state.es = null;
    $('loading').hidden = true;
    $('app').hidden = true;
    $('login-screen').hidden = false;
  }

  function withOf(conv) {
    if (conv.startsWith('room:')) return '#' + conv.slice(5);
    if (conv.startsWith('dm:')) return conv.slice(3);
    return conv;
  }

  // ---- conversations (sidebar) ----

  // Reads sent close together may be answered out of order. Each read
  // takes a ticket as it is sent and keeps its answer only if no answer
  // to a later ticket was kept first: a stale answer never overwrites a
  // fresher one, and whoever awaits a read finds the state at least as
  // new as its own request.
  const tickets = { sent: {}, kept: {} };
  const ticket = (what) => (tickets.sent[what] = (tickets.sent[what] || 0) + 1);
  function keep(what, n) {
    if (n < (tickets.kept[what] || 0)) return false;
    tickets.kept[what] = n;
    return true;
  }

  async function refreshConvs() {
    const n = ticket('convs');
    const [convs, rooms] = await Promise.all([api('GET', 'conversations'), api('GET', 'rooms')]);
    if (!keep('convs', n)) return;
    state.convs = convs;
    state.rooms = new Map(rooms.map((r) => [r.name, r]));
    renderConvs();
    renderHeader();
    renderMembers(); // an admin's buttons follow this node's role
    ParleyIntegrations.conversationsChanged();
  }

  let convTimer = null;
  function refreshConvsSoon() {
    clearTimeout(convTimer);
    convTimer = setTimeout(() => refreshConvs().catch((e) => showNotice(e.message)), 250);
  }

  function renderConvs() {
    const lists = { room: [], dm: [] };
    let total = 0;
    const sorted = [...state.convs].sort((a, b) => a.name.localeCompare(b.name));
    for (const c of sorted) {
      const active = state.cur !== null && state.cur.conv === c.conversation;
      const unread = !active && c.unread > 0;
      // The tab's title counts every unread message, the open
      // conversation's too while the tab is in the background (it is
      // marked read once the tab is seen again).
      if (c.unread > 0 && (!active || document.visibilityState !== 'visible')) total += c.unread;
      const r = c.kind === 'room' ? state.rooms.get(c.room) : null;
      const priv = !!(r && r.private);
      const removed = !!(r && r.removed);
      const cls = ['conv', active && 'active', unread && 'unread', c.online && 'online', priv && 'private', removed && 'removed'].filter(Boolean).join(' ');
      let title = c.kind === 'dm' ? c.peer_id : null;
      if (removed) title = 'You were removed from this private room';
      else if (priv) title = 'Private room: invite only';
      const btn = el('button', {
        type: 'button', class: cls, 'data-conv': c.conversation, 'data-with': withOf(c.conversation),
        'data-unread': c.unread, 'aria-current': active ? 'page' : null, title,
      },
      el('span', { class: 'dot', 'aria-hidden': 'true' }),
      el('span', { class: 'name', text: c.name }),
      priv ? lockMark() : null,
      removed ? el('span', { class: 'tag', text: 'removed' }) : null,
      unread ? el('span', { class: 'badge', 'aria-label': `${c.unread} unread`, text: String(c.unread) }) : null);
      btn.addEventListener('click', () => select(withOf(c.conversation)));
      (lists[c.kind] || lists.dm).push(el('li', null, btn));
    }
    if (!lists.room.length) lists.room.push(el('li', { class: 'empty', text: 'No rooms: join one below' }));
    if (!lists.dm.length) lists.dm.push(el('li', { class: 'empty', text: 'None yet: pick a peer' }));
    $('rooms-list').replaceChildren(...lists.room);
    $('dms-list').replaceChildren(...lists.dm);
    document.title = total > 0 ? `(${total}) Parley` : 'Parley';
  }

  // lockMark is the padlock on a private room's name.
  // (drawn by the style sheet: no emoji font needed).
  const lockMark = () => el('span', { class: 'lock', role: 'img', 'aria-label': 'private' });

  // ---- peers ----

  async function loadPeers() {
    const n = ticket('peers');
    const peers = await api('GET', 'peers');
    if (!keep('peers', n)) return;
    state.peers = new Map(peers.map((p) => [p.peer_id, p]));
    renderPeers();
  }

  function renderPeers() {
    const peers = [...state.peers.values()].sort((a, b) =>
      (b.connected - a.connected) || nickOf(a.peer_id).localeCompare(nickOf(b.peer_id)));
    const items = peers.map((p) => {
      let title = p.peer_id + (p.connected ? ' — online' : ' — offline');
      if (!p.connected && p.last_seen) title += ', last seen ' + new Date(p.last_seen).toLocaleString();
      const btn = el('button', { type: 'button', class: 'peer' + (p.connected ? ' online' : ''), 'data-peer': p.peer_id, title },
        el('span', { class: 'dot', 'aria-hidden': 'true' }),
        el('span', { class: 'nick ' + colorClass(p.peer_id), text: nickOf(p.peer_id) }),
        el('span', { class: 'sr-only', text: p.connected ? ' (online)' : ' (offline)' }));
      btn.addEventListener('click', () => select(p.peer_id));
      return el('li', null, btn);
    });
    if (!items.length) items.push(el('li', { class: 'empty', text: 'No peers yet' }));
    $('peers-list').replaceChildren(...items);
  }

  // ---- the open conversation ----

  function renderHeader() {
    const c = state.cur;
    const title = $('conv-title');
    const info = $('conv-info');
    const r = c && c.room ? state.rooms.get(c.room) : null;
    $('leave-button').hidden = !(c && c.room);
    $('safety-button').hidden = !(c && c.peer);
    $('conv-lock').hidden = !(r && r.private);
    $('invite-button').hidden = !canInvite(r);
    $('settings-button').hidden = !isAdmin(r);
    info.title = '';
    renderComposer();
    if (!c) {
      title.textContent = 'Pick a conversation';
      info.textContent = '';
      return;
    }
    if (c.room) {
      title.textContent = '#' + c.room;
      let text = r ? `${r.members} member${r.members === 1 ? '' : 's'} · ${r.online} online` : '';
      if (r && r.removed) text = 'private · removed: you are no longer a member';
      else if (r && r.private) text = (r.role === 'admin' ? 'private · you are an admin · ' : 'private · ') + text;
      info.textContent = text;
    } else {
      const p = state.peers.get(c.peer);
      title.textContent = nickOf(c.peer);
      info.textContent = (p && p.connected ? 'online' : 'offline') + ' · ' + short(c.peer);
      info.title = c.peer;
    }
  }

  // A private room's rights, by what GET /rooms says of this node in it.
  const isAdmin = (r) => !!(r && r.private && !r.removed && r.role === 'admin');
  const canInvite = (r) => !!(r && r.private && !r.removed && (r.role === 'admin' || r.invite === 'members'));

  // renderComposer enables the composer for the open conversation, except
  // in a private room this node was removed from, where it says why.
  function renderComposer() {
    const c = state.cur;
    const r = c && c.room ? state.rooms.get(c.room) : null;
    const removed = !!(r && r.removed);
    const ta = $('composer-input');
    const note = $('removed-note');
    ta.disabled = !c || removed;
    $('send-button').disabled = !c || removed;
    $('attach-button').disabled = !c || removed;
    note.hidden = !removed;
    if (removed) {
      ta.placeholder = 'You can no longer post in #' + c.room;
      note.textContent = `You were removed from #${c.room}. You can still read what you received, but you no longer get or post new messages. Leave the room to drop it, or ask an admin for a new invite.`;
    } else if (c) {
      ta.placeholder = 'Message ' + (c.room ? '#' + c.room : nickOf(c.peer));
    }
  }

  async function select(w) {
    const room = w.startsWith('#') ? w.slice(1) : null;
    if (room && !state.convs.some((c) => c.room === room)) {
      showNotice(`You are not in #${room}: join it below.`);
      $('join-input').value = '#' + room;
      if (!state.cur) selectDefault();
      return;
    }
    const seq = ++state.seq;
    state.cur = { with: w, conv: room ? 'room:' + room : 'dm:' + w, room, peer: room ? null : w };
    state.msgs = [];
    state.oldest = null;
    state.byId = new Map();
    state.hasMore = false;
    state.loading = true;
    state.olderP = null;
    state.members = [];
    state.replyTo = null;
    state.editing = null;
    state.picking = null;
    closeThread();
    renderReplyBar();
    clearTypers();
    history.replaceState(null, '', '#' + encodeURIComponent(w));
    renderHeader();
    renderConvs();
    renderMessages();
    renderMembers();
    if (room) loadMembers();
    const ta = $('composer-input');
    if (!ta.disabled) ta.focus();
    let ms;
    try {
      const page = api('GET', 'history?' + query({ with: w, limit: PAGE, all: 'true' }));
      state.pageP = page.then(() => {}, () => {});
      ms = await page;
    } catch (e) {
      if (seq !== state.seq) return;
      state.loading = false;
      showNotice(e.message);
      // A room left meanwhile or a peer forgotten (an old link): go home.
      if (e.status === 404 && !state.convs.some((c) => c.conversation === state.cur.conv)) selectDefault();
      return;
    }
    if (seq !== state.seq) return;
    // Messages that arrived live while the page was loading go after it.
    if (ms.length) state.oldest = ms[0].id;
    const extra = state.msgs.filter((m) => !ms.some((x) => x.id === m.id) && m.kind !== 'ephemeral');
    state.msgs = ms.filter(shown).concat(extra);
    for (const e of state.ephemeral.get(state.cur.conv) || []) insertByTime(state.msgs, e);
    state.byId = new Map(state.msgs.map((m) => [m.id, m]));
    state.hasMore = ms.length >= PAGE;
    state.loading = false;
    renderMessages();
    scrollToBottom();
    markRead();
  }

  // loadOlder loads the page before the oldest message loaded; a call
  // while one loads waits for that one.
  function loadOlder() {
    if (state.olderP) return state.olderP;
    const c = state.cur;
    if (!c || state.loading || !state.hasMore || !state.oldest) return Promise.resolve();
    const p = loadOlderPage(c).finally(() => {
      if (state.olderP === p) state.olderP = null;
    });
    state.olderP = p;
    return p;
  }

  async function loadOlderPage(c) {
    const seq = state.seq;
    state.loading = true;
    $('load-older').disabled = true;
    try {
      const ms = await api('GET', 'history?' + query({ with: c.with, limit: PAGE, all: 'true', before: state.oldest }));
      if (seq !== state.seq) return;
      state.hasMore = ms.length >= PAGE;
      if (ms.length) state.oldest = ms[0].id;
      const fresh = ms.filter((m) => shown(m) && !state.byId.has(m.id));
      for (const m of fresh) state.byId.set(m.id, m);
      state.msgs = fresh.concat(state.msgs);
      const tl = $('timeline');
      const fromBottom = tl.scrollHeight - tl.scrollTop;
      renderMessages();
      tl.scrollTop = tl.scrollHeight - fromBottom;
    } catch (e) {
      showNotice(e.message);
    } finally {
      if (seq === state.seq) state.loading = false;
      $('load-older').disabled = false;
    }
  }

  const STATES = {
    queued: ['○', 'queued: waiting to be sent'],
    sent: ['✓', 'sent'],
    delivered: ['✓✓', 'delivered'],
    read: ['✓✓', 'read'],
    failed: ['✗', 'failed'],
  };

  function stateNode(m) {
    const shown = m.read ? 'read' : m.status;
    const [mark, label] = STATES[shown] || ['', m.status];
    const title = m.status === 'failed' && m.reason ? 'failed: ' + m.reason : label;
    return el('span', { class: 'state ' + m.status, title, 'aria-label': title, text: mark });
  }

  function continues(prev, m) {
    return prev && prev.kind === 'text' && m.kind === 'text' && prev.from === m.from && (prev.app || '') === (m.app || '') && !m.reply_to &&
      Date.parse(m.sent_at) - Date.parse(prev.sent_at) < 5 * 60 * 1000;
  }

  // A thread reply not also sent to the room lives in its thread only.
  const threadOnly = (m) => !!m.thread && !m.also_room;
  // mentionsMe: another's message that names this node, or @room/@here.
  const mentionsMe = (m) => !isMe(m.from) && (!!m.mention_all || (m.mentions || []).includes(state.me.peer_id));

  function firstLine(text) {
    const line = String(text || '').split('\n')[0];
    return line.length > 120 ? line.slice(0, 119) + '…' : line;
  }

  // textNodes splits a message's text into text nodes, with its @nick
  // tokens as highlighted spans (this node's own nick stands out more).
  function textNodes(text) {
    const out = [];
    const re = /@[\p{L}\p{N}_.-]*[\p{L}\p{N}_]/gu;
    const mine = state.me && state.me.nick ? '@' + state.me.nick.toLowerCase() : null;
    let at = 0;
    for (const m of text.matchAll(re)) {
      if (m.index > 0 && /[\p{L}\p{N}_]/u.test(text[m.index - 1])) continue; // an address, not a mention
      if (m.index > at) out.push(document.createTextNode(text.slice(at, m.index)));
      const tok = m[0];
      const lower = tok.toLowerCase();
      const me = lower === mine || lower === '@room' || lower === '@here';
      out.push(el('span', { class: 'at' + (me ? ' me' : ''), text: tok }));
      at = m.index + tok.length;
    }
    if (at < text.length) out.push(document.createTextNode(text.slice(at)));
    return out;
  }

  // authorOf names a message's author: an app's name for an app
  // message (an integration's, posted through the node in from).
  const authorOf = (m) => (m.app ? m.app : nickOf(m.from, m.from_display));

  // findMsg finds a message this page holds: in the open conversation,
  // the thread panel, or fetched as the parent of a reply.
  function findMsg(id) {
    return state.byId.get(id) || (state.thread && state.thread.byId.get(id)) || state.parents.get(id);
  }

  // quoteNode is the line above a reply: its parent's author and first
  // line; a click jumps to the parent.
  function quoteNode(m) {
    const p = findMsg(m.reply_to);
    if (!p) loadParent(m.reply_to);
    let who = '';
    let what = '…';
    if (p && p.missing) what = 'a message not held here';
    else if (p && p.deleted) what = 'message deleted';
    else if (p) {
      who = authorOf(p);
      what = firstLine(p.text) || (p.files && p.files.length ? p.files.map((f) => f.name).join(', ') : '');
    }
    const q = el('button', { type: 'button', class: 'quote', 'data-reply-to': m.reply_to, title: 'Show the message this replies to' },
      el('span', { class: 'quote-nick', text: who }),
      el('span', { class: 'quote-text', text: what }));
    q.addEventListener('click', () => {
      if (state.thread && state.thread.byId.has(m.reply_to) && !state.byId.has(m.reply_to)) flashIn('#thread-messages', m.reply_to);
      else jumpTo(m.reply_to);
    });
    return q;
  }

  const parentLoads = new Set();
  async function loadParent(id) {
    if (parentLoads.has(id)) return;
    parentLoads.add(id);
    try {
      state.parents.set(id, await api('GET', 'messages/' + encodeURIComponent(id)));
    } catch (_) {
      state.parents.set(id, { id, missing: true });
    }
    redrawQuotes(id);
  }

  function redrawQuotes(id) {
    for (const q of document.querySelectorAll(`.quote[data-reply-to="${CSS.escape(id)}"]`)) {
      const m = findMsg(q.closest('.message').dataset.id);
      if (m) q.replaceWith(quoteNode(m));
    }
  }

  function reactionsNode(m) {
    const box = el('div', { class: 'reactions' });
    for (const r of m.reactions || []) {
      const by = r.by || [];
      if (!by.length) continue;
      const mine = state.me && by.includes(state.me.peer_id);
      const chip = el('button', {
        type: 'button', class: 'reaction' + (mine ? ' mine' : ''), 'data-emoji': r.emoji, 'aria-pressed': mine ? 'true' : 'false',
        title: 'Reacted by ' + by.map((id) => nickOf(id)).join(', ') + (mine ? ' (click to take yours back)' : ''),
      }, el('span', { class: 'emoji', text: r.emoji }), ' ', el('span', { class: 'count', text: String(by.length) }));
      chip.addEventListener('click', () => react(m.id, r.emoji));
      box.append(chip);
    }
    return box.childNodes.length ? box : null;
  }

  function versionsNode(m) {
    const vs = m.versions || [];
    const mark = el('button', {
      type: 'button', class: 'edited', 'aria-expanded': 'false',
      title: vs.length ? 'Edited. Earlier versions:\n' + vs.map((v) => `${hhmm(new Date(v.sent_at))} ${v.text}`).join('\n') : 'Edited',
      text: '(edited)',
    });
    const list = el('ol', { class: 'versions', hidden: true },
      ...vs.map((v) => el('li', null,
        el('time', { datetime: v.sent_at, text: hhmm(new Date(v.sent_at)) + ' ' }),
        el('span', { class: 'version-text', text: v.text }))));
    mark.addEventListener('click', () => {
      list.hidden = !list.hidden;
      mark.setAttribute('aria-expanded', String(!list.hidden));
    });
    return [mark, list];
  }

  function threadSummary(m) {
    const n = m.replies;
    let text = `${n} repl${n === 1 ? 'y' : 'ies'}`;
    if (m.last_reply_at) text += ', last at ' + hhmm(new Date(m.last_reply_at));
    const b = el('button', { type: 'button', class: 'thread-summary', title: 'Open the thread', text });
    b.addEventListener('click', () => openThread(m.id));
    return b;
  }

  function actionButton(cls, label, title, fn) {
    const b = el('button', { type: 'button', class: cls, title, 'aria-label': title, text: label });
    b.addEventListener('click', fn);
    return b;
  }

  // actionsNode is the message's toolbar (shown on hover and focus).
  function actionsNode(m, where) {
    const bar = el('div', { class: 'actions', role: 'toolbar', 'aria-label': 'Message actions' });
    if (where === 'room') bar.append(actionButton('act-reply', 'Reply', 'Reply, quoting this message', () => startReply(m.id)));
    bar.append(actionButton('act-thread', 'Thread', 'Reply in thread', () => openThread(m.thread || m.id)));
    bar.append(actionButton('act-react', 'React', 'Add a reaction', () => togglePicker(m.id, where)));
    if (isMe(m.from) && !m.app) {
      bar.append(actionButton('act-edit', 'Edit', 'Edit your message', () => startEdit(m.id, where)));
      bar.append(actionButton('act-delete', 'Delete', 'Delete your message for everyone', () => deleteMessage(m.id)));
    }
    return bar;
  }

  // pickerNode: a few common emojis, and a field for any other.
  function pickerNode(m) {
    const box = el('div', { class: 'picker', role: 'group', 'aria-label': 'Pick a reaction' });
    for (const e of COMMON_EMOJI) {
      const b = el('button', { type: 'button', class: 'pick', 'data-emoji': e, title: 'React with ' + e, text: e });
      b.addEventListener('click', () => react(m.id, e));
      box.append(b);
    }
    const input = el('input', { class: 'pick-input', maxlength: 32, placeholder: 'other', 'aria-label': 'Another reaction', spellcheck: 'false' });
    const add = el('button', { type: 'button', class: 'pick-add', text: 'Add' });
    const submit = () => {
      const e = input.value.trim();
      if (e) react(m.id, e);
    };
    add.addEventListener('click', submit);
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        submit();
      } else if (e.key === 'Escape') {
        closePicker();
      }
    });
    box.append(input, add);
    return box;
  }

  function editorNode(m, where) {
    const ta = el('textarea', { class: 'edit-input', rows: 2, 'aria-label': 'Edit the message (Enter saves, Esc cancels)' });
    ta.value = m.text;
    const save = el('button', { type: 'button', class: 'edit-save', text: 'Save' });
    const cancel = el('button', { type: 'button', class: 'edit-cancel', text: 'Cancel' });
    save.addEventListener('click', () => saveEdit(m.id, where, ta.value));
    cancel.addEventListener('click', () => stopEdit());
    ta.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        saveEdit(m.id, where, ta.value);
      } else if (e.key === 'Escape') {
        e.preventDefault();
        stopEdit();
      }
    });
    return el('div', { class: 'editor' }, ta,
      el('div', { class: 'editor-buttons' }, save, cancel, el('span', { class: 'hint', text: 'Enter saves · Esc cancels' })));
  }

  // messageNode draws message m, after prev, for a list: 'room' (the
  // conversation's timeline) or 'thread' (the thread panel).
  function messageNode(m, prev, where = 'room') {
    const d = new Date(m.sent_at);
    const li = el('li', { class: 'message', 'data-id': m.id, 'data-from': m.from, 'data-kind': m.kind, 'data-status': m.status });
    const time = el('time', { class: 'time', datetime: m.sent_at, title: d.toLocaleString(), text: hhmm(d) });
    if (m.kind === 'ephemeral') return ephemeralNode(m, li, time);
    if (m.kind !== 'text') {
      li.classList.add('system');
      const what = m.kind === 'join' ? 'joined' : 'left';
      li.append(time, el('span', { class: 'text', text: `${nickOf(m.from, m.from_display)} ${what} ${m.room ? '#' + m.room : ''}` }));
      return li;
    }
    if (continues(prev, m)) li.classList.add('cont');
    if (m.deleted) li.classList.add('deleted');
    if (m.edited) li.classList.add('was-edited');
    if (mentionsMe(m)) li.classList.add('mention');
    if (state.flash && state.flash.id === m.id && Date.now() < state.flash.until) li.classList.add('flash');
    const body = el('div', { class: 'body' });
    const inThread = where === 'thread' && state.thread && m.id !== state.thread.root;
    if (m.reply_to && !(inThread && m.reply_to === state.thread.root)) body.append(quoteNode(m));
    const editing = !m.deleted && state.editing && state.editing.id === m.id && state.editing.where === where;
    if (m.deleted) {
      body.append(el('span', { class: 'text tombstone', text: 'message deleted' }));
    } else if (editing) {
      body.append(editorNode(m, where));
    } else {
      // An app's message in its formatting (rich.js); its plain text when
      // it has no rich payload, as every other message.
      const rich = m.app ? ParleyRich.bodyNode(m) : null;
      body.append(rich || el('span', { class: 'text' }, ...textNodes(m.text)));
      if (m.edited) body.append(...versionsNode(m));
    }
    if (where === 'room' && m.thread && m.also_room) {
      const b = el('button', { type: 'button', class: 'in-thread', title: 'Open the thread', text: 'in thread' });
      b.addEventListener('click', () => openThread(m.thread));
      body.append(b);
    }
    if (!m.deleted) {
      const rs = reactionsNode(m);
      if (rs) body.append(rs);
      if (state.picking && state.picking.id === m.id && state.picking.where === where) body.append(pickerNode(m));
    }
    if (where === 'room' && m.replies > 0) body.append(threadSummary(m));
    if (isMe(m.from) && Array.isArray(m.seen_by) && m.seen_by.length) {
      body.append(el('span', { class: 'seen', title: 'Seen by ' + m.seen_by.map((id) => nickOf(id)).join(', '), text: `seen by ${m.seen_by.length}` }));
    }
    if (m.app) li.classList.add('app');
    li.append(time,
      m.app ? ParleyRich.nameNode(m, nickOf(m.from, m.from_display), 'nick') : el('span', { class: 'nick ' + colorClass(m.from), title: m.from, text: nickOf(m.from, m.from_display) }),
      body);
    if (isMe(m.from)) {
      li.classList.add('mine');
      li.append(stateNode(m));
    }
    if (m.files && m.files.length && !m.deleted) li.append(filesNode(m));
    if (!m.deleted && !editing) li.append(actionsNode(m, where));
    return li;
  }

  // ephemeralNode draws a slash command's answer for this user only.
  function ephemeralNode(m, li, time) {
    li.classList.add('ephemeral');
    li.append(time,
      el('span', { class: 'nick app', text: m.app }),
      el('div', { class: 'body' },
        el('span', { class: 'only-you', text: 'only visible to you' }),
        el('span', { class: 'text' }, ...textNodes(m.text))));
    return li;
  }

  // insertByTime puts m into list (oldest first) after everything sent
  // at or before it.
  function insertByTime(list, m) {
    const t = Date.parse(m.sent_at);
    const i = list.findIndex((x) => Date.parse(x.sent_at) > t);
    list.splice(i < 0 ? list.length : i, 0, m);
  }

  const daySeparator = (d) => el('li', { class: 'day', role: 'separator', text: dayLabel(d) });

  function renderMessages() {
    const nodes = [];
    let prev = null;
    for (const m of state.msgs) {
      const d = new Date(m.sent_at);
      if (!prev || dayKey(new Date(prev.sent_at)) !== dayKey(d)) nodes.push(daySeparator(d));
      nodes.push(messageNode(m, prev));
      prev = m;
    }
    if (!nodes.length && !state.loading && state.cur) nodes.push(el('li', { class: 'empty', text: 'No messages yet. Say hello!' }));
    $('messages').replaceChildren(...nodes);
    $('load-older').hidden = !state.hasMore;
  }

  const atBottom = (tl) => tl.scrollHeight - tl.scrollTop - tl.clientHeight < 48;
  function scrollToBottom() {
    const tl = $('timeline');
    tl.scrollTop = tl.scrollHeight;
  }

  // addLive puts a message that arrived after the page was loaded in place.
  function addLive(m) {
    if (!shown(m) || threadOnly(m)) return;
    const old = state.byId.get(m.id);
    if (old) {
      setStatus(old, m.status, m.reason);
      return;
    }
    state.byId.set(m.id, m);
    const tl = $('timeline');
    const stick = atBottom(tl) || isMe(m.from);
    const last = state.msgs[state.msgs.length - 1];
    if (state.loading) {
      state.msgs.push(m); // rendered when the page arrives
      return;
    }
    if (!last || Date.parse(m.sent_at) >= Date.parse(last.sent_at)) {
      state.msgs.push(m);
      const list = $('messages');
      const empty = list.querySelector('.empty');
      if (empty) empty.remove();
      if (!last || dayKey(new Date(last.sent_at)) !== dayKey(new Date(m.sent_at))) list.append(daySeparator(new Date(m.sent_at)));
      list.append(messageNode(m, last));
    } else {
      // Late arrival (history sync): insert by time and redraw.
      const t = Date.parse(m.sent_at);
      const i = state.msgs.findIndex((x) => Date.parse(x.sent_at) > t);
      state.msgs.splice(i < 0 ? state.msgs.length : i, 0, m);
      const fromBottom = tl.scrollHeight - tl.scrollTop;
      renderMessages();
      tl.scrollTop = tl.scrollHeight - fromBottom;
    }
    if (stick) scrollToBottom();
  }

  // setStatus moves a message's delivery state forward, never back: the
  // answer to a send can arrive after the events that overtook it.
  const RANK = { queued: 0, sent: 1, delivered: 2, failed: 2, read: 3 };
  function setStatus(m, status, reason) {
    if ((RANK[status] || 0) < (RANK[m.status] || 0)) return;
    m.status = status;
    m.reason = reason;
    updateState(m);
  }

  function updateState(m) {
    for (const li of document.querySelectorAll(`.message[data-id="${CSS.escape(m.id)}"]`)) {
      li.dataset.status = m.status;
      const old = li.querySelector('.state');
      if (old) old.replaceWith(stateNode(m));
    }
  }

  // ---- one message changed: edits, deletes, reactions, replies ----

  // refreshMessage fetches message id again (an edit, delete or reaction
  // named it, or its thread grew) and shows it as it now is.
  async function refreshMessage(id) {
    if (!findMsg(id)) return; // not on the page: nothing to redraw
    const n = ticket('msg:' + id);
    let m;
    try {
      m = await api('GET', 'messages/' + encodeURIComponent(id));
    } catch (_) {
      return;
    }
    if (keep('msg:' + id, n)) applyMessage(m);
  }

  // applyMessage puts a fresh copy of a message wherever the page shows it.
  function applyMessage(m) {
    const lists = [['#messages', state.msgs, state.byId, 'room']];
    if (state.thread) lists.push(['#thread-messages', state.thread.msgs, state.thread.byId, 'thread']);
    for (const [sel, msgs, byId, where] of lists) {
      const i = msgs.findIndex((x) => x.id === m.id);
      if (i < 0) continue;
      const old = msgs[i];
      const fresh = Object.assign({}, m);
      // The delivery state only moves forward (a status event may be newer).
      if ((RANK[fresh.status] || 0) < (RANK[old.status] || 0)) {
        fresh.status = old.status;
        fresh.reason = old.reason;
      }
      msgs[i] = fresh;
      byId.set(m.id, fresh);
      const li = document.querySelector(`${sel} .message[data-id="${CSS.escape(m.id)}"]`);
      if (li) li.replaceWith(messageNode(fresh, msgs[i - 1], where));
    }
    if (state.parents.has(m.id)) state.parents.set(m.id, m);
    redrawQuotes(m.id);
  }

  // redraw draws message id again where it is shown (an editor or a
  // picker opened or closed).
  function redraw(id) {
    const m = findMsg(id);
    if (m) applyMessage(m);
  }

  function startReply(id) {
    const m = findMsg(id);
    if (!m) return;
    state.replyTo = id;
    renderReplyBar();
    $('composer-input').focus();
  }

  function cancelReply() {
    state.replyTo = null;
    renderReplyBar();
  }

  function renderReplyBar() {
    const bar = $('reply-bar');
    const m = state.replyTo && findMsg(state.replyTo);
    bar.hidden = !m;
    if (!m) return;
    $('reply-who').textContent = 'Replying to ' + authorOf(m);
    $('reply-text').textContent = firstLine(m.text);
  }

  function togglePicker(id, where) {
    const was = state.picking;
    state.picking = was && was.id === id && was.where === where ? null : { id, where };
    if (was) redraw(was.id);
    if (state.picking) {
      redraw(id);
      const input = document.querySelector(`${where === 'thread' ? '#thread-messages' : '#messages'} .message[data-id="${CSS.escape(id)}"] .pick`);
      if (input) input.focus();
    }
  }

  function closePicker() {
    const was = state.picking;
    state.picking = null;
    if (was) redraw(was.id);
  }

  // react toggles this node's emoji on message id.
  async function react(id, emoji) {
    closePicker();
    try {
      await api('POST', 'messages/' + encodeURIComponent(id) + '/react', { emoji });
    } catch (e) {
      showNotice('Could not react: ' + e.message);
      return;
    }
    refreshMessage(id);
  }

  function startEdit(id, where) {
    const was = state.editing;
    state.editing = { id, where };
    if (was && was.id !== id) redraw(was.id);
    redraw(id);
    const ta = document.querySelector(`${where === 'thread' ? '#thread-messages' : '#messages'} .message[data-id="${CSS.escape(id)}"] .edit-input`);
    if (ta) {
      ta.focus();
      ta.setSelectionRange(ta.value.length, ta.value.length);
    }
  }

  function stopEdit() {
    const was = state.editing;
    state.editing = null;
    if (was) redraw(was.id);
  }

  async function saveEdit(id, where, text) {
    const m = findMsg(id);
    if (!m) return;
    if (!text.trim()) {
      showNotice('A message cannot be empty: delete it instead.');
      return;
    }
    if (text === m.text) {
      stopEdit();
      return;
    }
    try {
      await api('POST', 'messages/' + encodeURIComponent(id) + '/edit', { text });
    } catch (e) {
      showNotice('Could not edit: ' + e.message);
      return;
    }
    if (state.editing && state.editing.id === id) state.editing = null;
    await refreshMessage(id);
    redraw(id);
  }

  async function deleteMessage(id) {
    if (!await confirmDialog('Delete this message for everyone? Its text is erased on every member\'s node.', 'Delete', true)) return;
    try {
      await api('DELETE', 'messages/' + encodeURIComponent(id));
    } catch (e) {
      showNotice('Could not delete: ' + e.message);
      return;
    }
    refreshMessage(id);
  }

  // ---- threads ----

  let threadSeq = 0;

  async function openThread(root) {
    const seq = ++threadSeq;
    state.thread = { root, msgs: [], byId: new Map(), loading: true };
    $('app').classList.add('thread-open');
    $('thread-pane').hidden = false;
    renderThread();
    let ms;
    try {
      ms = await api('GET', 'messages/' + encodeURIComponent(root) + '/thread');
    } catch (e) {
      if (seq === threadSeq) closeThread();
      showNotice('Could not open the thread: ' + e.message);
      return;
    }
    if (seq !== threadSeq || !state.thread) return;
    // Replies that arrived live while it loaded go after it.
    const extra = state.thread.msgs.filter((m) => !ms.some((x) => x.id === m.id));
    state.thread.msgs = ms.concat(extra);
    state.thread.byId = new Map(state.thread.msgs.map((m) => [m.id, m]));
    state.thread.loading = false;
    renderThread();
    const list = $('thread-list');
    list.scrollTop = list.scrollHeight;
    const ta = $('thread-input');
    if (!ta.disabled) ta.focus();
  }

  function closeThread() {
    threadSeq++;
    state.thread = null;
    if (state.editing && state.editing.where === 'thread') state.editing = null;
    if (state.picking && state.picking.where === 'thread') state.picking = null;
    $('app').classList.remove('thread-open');
    $('thread-pane').hidden = true;
    $('thread-messages').replaceChildren();
  }

  function renderThread() {
    const th = state.thread;
    if (!th) return;
    const c = state.cur;
    $('thread-also-label').textContent = c && c.room ? 'Also send to #' + c.room : 'Also send to the conversation';
    const root = th.byId.get(th.root);
    const n = th.msgs.filter((m) => m.id !== th.root).length;
    $('thread-title').textContent = th.loading ? 'Thread' : `Thread · ${n} repl${n === 1 ? 'y' : 'ies'}`;
    const nodes = [];
    let prev = null;
    for (const m of th.msgs) {
      nodes.push(messageNode(m, prev, 'thread'));
      if (m.id === th.root) nodes.push(el('li', { class: 'thread-divider', role: 'separator', text: n ? `${n} repl${n === 1 ? 'y' : 'ies'}` : 'No replies yet' }));
      prev = m;
    }
    if (th.loading) nodes.push(el('li', { class: 'empty', text: 'Loading…' }));
    else if (!root) nodes.unshift(el('li', { class: 'empty', text: 'The thread\'s first message is not held here' }));
    $('thread-messages').replaceChildren(...nodes);
    const r = c && c.room ? state.rooms.get(c.room) : null;
    const off = !c || !!(r && r.removed);
    $('thread-input').disabled = off;
    $('thread-send').disabled = off;
  }

  // addThreadLive puts a reply that arrived live in the open thread.
  function addThreadLive(m) {
    const th = state.thread;
    if (!th || m.thread !== th.root) return;
    if (th.byId.has(m.id)) {
      setStatus(th.byId.get(m.id), m.status, m.reason);
      return;
    }
    th.byId.set(m.id, m);
    th.msgs.push(m);
    if (th.loading) return;
    const list = $('thread-list');
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 48 || isMe(m.from);
    renderThread();
    if (stick) list.scrollTop = list.scrollHeight;
  }

  async function sendThread() {
    const th = state.thread;
    const ta = $('thread-input');
    const text = ta.value;
    if (!th || !text.trim()) return;
    const also = $('thread-also').checked;
    ta.value = '';
    try {
      const body = { text, thread: true };
      if (also) body.also_room = true;
      const answer = await api('POST', 'messages/' + encodeURIComponent(th.root) + '/reply', body);
      const m = commandMessage(answer);
      if (m && answer.command === undefined) addThreadLive(m);
      if (m && state.cur && m.conversation === state.cur.conv) addLive(m);
      $('thread-also').checked = false;
      refreshMessage(th.root);
    } catch (e) {
      if (ta.value === '') ta.value = text;
      showNotice(e.message);
    }
  }

  // ---- jumping to a message ----

  // flashIn scrolls list sel to message id and highlights it a while.
  function flashIn(sel, id) {
    const li = document.querySelector(`${sel} .message[data-id="${CSS.escape(id)}"]`);
    if (!li) return false;
    state.flash = { id, until: Date.now() + FLASH_MS };
    for (const old of document.querySelectorAll('.message.flash')) old.classList.remove('flash');
    li.classList.add('flash');
    li.scrollIntoView({ block: 'center' });
    setTimeout(() => {
      if (state.flash && state.flash.id === id && Date.now() >= state.flash.until) state.flash = null;
      for (const e of document.querySelectorAll(`.message.flash[data-id="${CSS.escape(id)}"]`)) e.classList.remove('flash');
    }, FLASH_MS);
    return true;
  }

  // jumpTo shows message id of the open conversation in its place: older
  // pages are loaded until it is there.
  async function jumpTo(id) {
    const seq = state.seq;
    if (state.loading && state.pageP) await state.pageP;
    while (seq === state.seq && !state.byId.has(id) && state.hasMore) {
      const before = state.oldest;
      await loadOlder();
      if (state.oldest === before) break; // no progress: an error, shown already
    }
    if (seq !== state.seq) return false;
    if (!flashIn('#messages', id)) {
      showNotice('That message is not in this conversation\'s history on this node.');
      return false;
    }
    return true;
  }

  // openAt opens conversation conv at message id (a search result): a
  // thread-only reply opens its thread beside its root.
  async function openAt(conv, id) {
    let m;
    try {
      m = await api('GET', 'messages/' + encodeURIComponent(id));
    } catch (e) {
      showNotice(e.message);
      return;
    }
    if (!state.cur || state.cur.conv !== conv) await select(withOf(conv));
    if (!state.cur || state.cur.conv !== conv) return;
    if (threadOnly(m)) {
      await jumpTo(m.thread);
      if (!state.thread || state.thread.root !== m.thread) await openThread(m.thread);
      flashIn('#thread-messages', id);
      return;
    }
    await jumpTo(id);
  }

  // ---- search ----

  let searchSeq = 0;

  function convName(conv) {
    const c = state.convs.find((x) => x.conversation === conv);
    if (c) return c.name;
    if (conv.startsWith('room:')) return '#' + conv.slice(5);
    if (conv.startsWith('dm:')) return nickOf(conv.slice(3));
    return conv;
  }

  async function runSearch() {
    const q = $('search-input').value.trim();
    if (!q) {
      closeSearch();
      return;
    }
    const seq = ++searchSeq;
    const box = $('search-results');
    box.hidden = false;
    $('search-summary').textContent = 'Searching…';
    $('search-list').replaceChildren();
    let hits;
    try {
      hits = await api('GET', 'search?' + query({ q, limit: SEARCH_LIMIT }));
    } catch (e) {
      if (seq === searchSeq) $('search-summary').textContent = 'Search failed: ' + e.message;
      return;
    }
    if (seq !== searchSeq) return;
    const n = hits.length;
    $('search-summary').textContent = n ? `${n}${n >= SEARCH_LIMIT ? '+' : ''} result${n === 1 ? '' : 's'} for “${q}”` : `Nothing found for “${q}”`;
    $('search-list').replaceChildren(...hits.map((h) => {
      const d = new Date(h.sent_at);
      const b = el('button', { type: 'button', class: 'search-hit', 'data-id': h.id, 'data-conv': h.conversation },
        el('span', { class: 'hit-meta' },
          el('span', { class: 'hit-conv', text: convName(h.conversation) }),
          el('span', { class: 'hit-nick ' + colorClass(h.from), text: nickOf(h.from) }),
          el('time', { class: 'hit-time', datetime: h.sent_at, title: d.toLocaleString(), text: d.toLocaleDateString() + ' ' + hhmm(d) })),
        el('span', { class: 'hit-text', text: h.text }));
      b.addEventListener('click', () => {
        closeSearch();
        openAt(h.conversation, h.id);
      });
      return el('li', null, b);
    }));
  }

  function closeSearch() {
    searchSeq++;
    $('search-results').hidden = true;
    $('search-list').replaceChildren();
  }

  // ---- read receipts ----

  // refreshSeen reads the loaded newest page again for what changed in
  // it without a message of its own: seen_by, a direct message's read.
  async function refreshSeen() {
    const c = state.cur;
    if (!c || state.loading) return;
    const seq = state.seq;
    const n = Math.max(1, Math.min(state.msgs.length, PAGE));
    let ms;
    try {
      ms = await api('GET', 'history?' + query({ with: c.with, limit: n, all: 'true' }));
    } catch (_) {
      return;
    }
    if (seq !== state.seq) return;
    for (const m of ms) {
      const old = state.byId.get(m.id);
      if (!old) continue;
      if (JSON.stringify(old.seen_by || []) !== JSON.stringify(m.seen_by || []) || !!old.read !== !!m.read || (RANK[m.status] || 0) > (RANK[old.status] || 0)) applyMessage(m);
    }
  }

  let seenTimer = null;
  function refreshSeenSoon() {
    clearTimeout(seenTimer);
    seenTimer = setTimeout(refreshSeen, 250);
  }

  let readTimer = null;
  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      if (state.cur && document.visibilityState === 'visible') {
        api('POST', 'read', { with: state.cur.with }).catch(() => {});
      }
    }, 150);
  }

  // ---- typing ----

  function clearTypers() {
    for (const t of state.typers.values()) clearTimeout(t);
    state.typers.clear();
    renderTyping();
  }

  function dropTyper(id) {
    clearTimeout(state.typers.get(id));
    if (state.typers.delete(id)) renderTyping();
  }

  function renderTyping() {
    const names = [...state.typers.keys()].map((id) => nickOf(id));
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = 'Several people are typing…';
    $('typing').textContent = text;
  }

  // ---- live events ----

  const handlers = {
    message(ev) {
      const m = ev.message;
      if (!m) return;
      const here = state.cur && m.conversation === state.cur.conv;
      if (OPS.has(m.kind)) {
        // An edit, delete or reaction: show its target as it now is.
        if (m.target) {
          if (state.thread && state.thread.byId.has(m.target) && m.kind === 'delete') refreshMessage(state.thread.root);
          refreshMessage(m.target);
        }
        if (here && m.kind !== 'react') dropTyper(m.from);
        return;
      }
      if (m.thread) {
        addThreadLive(m);
        refreshMessage(m.thread); // its reply count
      }
      if (here) {
        addLive(m);
        dropTyper(m.from);
        if (!isMe(m.from)) markRead();
        if (m.kind !== 'text' && state.cur.room) loadMembersSoon();
      }
      refreshConvsSoon();
    },
    status(ev) {
      const s = ev.status;
      if (!s) return;
      for (const m of [state.byId.get(s.id), state.thread && state.thread.byId.get(s.id)]) {
        if (m) setStatus(m, s.status, s.reason);
      }
    },
    peer(ev) {
      const p = ev.peer;
      if (!p) return;
      const old = state.peers.get(p.peer_id);
      state.peers.set(p.peer_id, Object.assign(old || {}, p));
      renderPeers();
      renderHeader();
      if (safetyPeer === p.peer_id) renderSafetyName();
      if (old && (old.nick !== p.nick || old.display !== p.display) && state.cur && !state.loading) {
        const tl = $('timeline');
        const fromBottom = tl.scrollHeight - tl.scrollTop;
        renderMessages();
        tl.scrollTop = tl.scrollHeight - fromBottom;
        renderThread();
      }
      refreshConvsSoon();
    },
    typing(ev) {
      const p = ev.peer;
      if (!p || isMe(p.peer_id) || !state.cur || state.cur.room !== ev.room) return;
      clearTimeout(state.typers.get(p.peer_id));
      state.typers.set(p.peer_id, setTimeout(() => dropTyper(p.peer_id), TYPING_SHOW_MS));
      renderTyping();
    },
    presence(ev) {
      refreshConvsSoon();
      if (state.cur && state.cur.room === ev.room) loadMembersSoon();
    },
    // A private room's members, roles or settings changed: its marks,
    // its Invite button and, if open, its member list.
    members(ev) {
      refreshConvsSoon();
      if (state.cur && state.cur.room === ev.room) loadMembersSoon();
    },
    room(ev) {
      if (ev.joined !== false || !state.cur || state.cur.room !== ev.room) {
        refreshConvsSoon();
        return;
      }
      // Left, or removed from a private room: a room left goes, a room
      // this node was removed from stays readable, marked removed.
      refreshConvs().then(() => {
        if (!state.cur || state.cur.room !== ev.room) return;
        if (!state.convs.some((c) => c.room === ev.room)) selectDefault();
        else loadMembers();
      }).catch((e) => showNotice(e.message));
    },
    read() {
      refreshConvsSoon();
    },
    // A read position moved (a receipt): what the open page says of who
    // has seen what.
    receipt(ev) {
      if (state.cur && ev.conversation === state.cur.conv) refreshSeenSoon();
    },
    // The node's rules say this message notifies (the daemon raised its
    // desktop notification too, where it has a desktop). The tab shows a
    // browser notification of its own while it is out of sight.
    notify(ev) {
      window.dispatchEvent(new CustomEvent('parley:notify', { detail: ev }));
      if (!('Notification' in window) || Notification.permission !== 'granted') return;
      if (document.visibilityState === 'visible' && document.hasFocus()) return;
      const n = new Notification(ev.title || 'Parley', { body: ev.body || '', tag: ev.id });
      n.onclick = () => {
        window.focus();
        select(withOf(ev.conversation));
        n.close();
      };
    },
    'file.progress'(ev) {
      if (!ev.hash) return;
      if (ev.sources) sources.set(ev.hash, ev.sources);
      const change = { state: 'downloading', have: ev.have || 0 };
      if (ev.size) change.size = ev.size;
      fileChanged(ev.hash, change);
    },
    'file.complete'(ev) {
      if (!ev.hash) return;
      sources.delete(ev.hash);
      fileChanged(ev.hash, { state: 'complete', path: ev.path, reason: '' });
    },
    ephemeral(ev) {
      // A slash command's answer for this user only: a line of this
      // page's, never sent or stored.
      const m = { id: 'ephemeral-' + ++state.ephemeralSeq, kind: 'ephemeral', conversation: ev.conversation, app: ev.command || '', text: ev.text || '', rich: ev.rich, sent_at: ev.time };
      const list = state.ephemeral.get(ev.conversation) || [];
      list.push(m);
      state.ephemeral.set(ev.conversation, list.slice(-MAX_EPHEMERAL));
      if (state.cur && state.cur.conv === ev.conversation) {
        addLive(m);
      } else {
        const c = state.convs.find((x) => x.conversation === ev.conversation);
        showNotice(`${m.app} answered in ${c ? c.name : ev.conversation} (only visible to you)`);
      }
    },
    'file.failed'(ev) {
      if (!ev.hash) return;
      sources.delete(ev.hash);
      fileChanged(ev.hash, { state: 'failed', reason: ev.reason || '' });
    },
  };

  function setConn(text, cls) {
    const c = $('conn-state');
    c.textContent = text;
    c.className = 'conn ' + cls;
  }

  function connectEvents() {
    if (state.es) state.es.close();
    const es = new EventSource('/api/v1/events');
    state.es = es;
    setConn('connecting', 'wait');
    es.onopen = () => {
      setConn('live', 'ok');
      state.retry = 0;
      if (state.sseBroken) {
        state.sseBroken = false;
        resync(); // catch up on what happened while disconnected
      }
    };
    es.onerror = () => {
      if (state.es !== es) return;
      state.sseBroken = true;
      setConn('reconnecting', 'bad');
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. the daemon answered with an error).
        es.close();
        state.es = null;
        reconnectLater();
      }
    };
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (e) => {
        let ev;
        try {
          ev = JSON.parse(e.data);
        } catch (_) {
          return;
        }
        handlers[type](ev);
      });
    }
  }

  // reconnectLater checks the session, then opens a new stream.
  function reconnectLater() {
    const wait = Math.min(30000, 1000 * 2 ** state.retry++);
    setTimeout(() => {
      api('GET', 'id').then(connectEvents, (e) => {
        if (e.status !== 401) reconnectLater();
      });
    }, wait);
  }

  async function resync() {
    try {
      await Promise.all([loadPeers(), refreshConvs()]);
      if (state.cur) select(state.cur.with);
    } catch (e) {
      showNotice(e.message);
    }
  }

  function selectDefault() {
    const rooms = state.convs.filter((c) => c.kind === 'room' && c.room !== (state.cur && state.cur.room));
    const lobby = rooms.find((c) => c.room === 'lobby');
    const pick = lobby || rooms[0] || state.convs[0];
    if (pick) {
      select(withOf(pick.conversation));
    } else {
      state.cur = null;
      state.msgs = [];
      renderHeader();
      renderConvs();
      renderMessages();
      $('composer-input').disabled = true;
      $('send-button').disabled = true;
      $('attach-button').disabled = true;
    }
  }

  // ---- safety numbers ----

  let safetyPeer = null; // the peer the safety dialog shows

  function renderSafetyName() {
    $('safety-title').textContent = 'Safety number with ' + nickOf(safetyPeer);
  }

  function renderSafety(s) {
    safetyPeer = s.peer_id;
    renderSafetyName();
    $('safety-number').textContent = s.safety_number;
    $('safety-number').dataset.peer = s.peer_id;
    const st = $('safety-state');
    st.textContent = s.verified ? '✓ Verified' : 'Not verified';
    st.className = s.verified ? 'verified' : '';
    $('safety-verify').hidden = s.verified;
  }

  async function openSafety(peer) {
    let s;
    try {
      s = await api('GET', 'peers/' + encodeURIComponent(peer) + '/safety');
    } catch (e) {
      showNotice(e.message);
      return;
    }
    renderSafety(s);
    $('safety-qr').src = '/api/v1/peers/' + encodeURIComponent(peer) + '/safety.png';
    const d = $('safety-dialog');
    if (!d.open) d.showModal();
  }

  async function verifySafety() {
    const btn = $('safety-verify');
    if (!safetyPeer) return;
    btn.disabled = true;
    try {
      const s = await api('POST', 'peers/' + encodeURIComponent(safetyPeer) + '/verify');
      await loadPeers(); // the ✓ everywhere at once (a peer event follows too)
      renderSafety(s);
      renderHeader();
      refreshConvsSoon();
    } catch (e) {
      showNotice(e.message);
    } finally {
      btn.disabled = false;
    }
  }

  // ---- room members ----

  async function loadMembers() {
    const c = state.cur;
    if (!c || !c.room) return;
    const seq = state.seq;
    const n = ticket('members');
    let ms;
    try {
      ms = await api('GET', 'rooms/' + encodeURIComponent(c.room) + '/members');
    } catch (e) {
      if (seq === state.seq && e.status !== 404) showNotice(e.message);
      return;
    }
    if (seq !== state.seq || !keep('members', n)) return;
    state.members = ms;
    renderMembers();
  }

  let membersTimer = null;
  function loadMembersSoon() {
    clearTimeout(membersTimer);
    membersTimer = setTimeout(loadMembers, 250);
  }

  // renderMembers lists the open room's members, admins first, with an
  // admin badge; an admin of a private room gets Promote and Remove for
  // every other member.
  function renderMembers() {
    const c = state.cur;
    const section = $('members-section');
    if (!c || !c.room) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    $('members-title').textContent = `Members (${state.members.length})`;
    const manage = isAdmin(state.rooms.get(c.room));
    const sorted = [...state.members].sort((a, b) =>
      ((b.role === 'admin') - (a.role === 'admin')) || (b.online - a.online) ||
      nickOf(a.peer_id, a.display).localeCompare(nickOf(b.peer_id, b.display)));
    const items = sorted.map((m) => {
      const me = isMe(m.peer_id);
      const li = el('li', { class: 'member' + (m.online ? ' online' : ''), 'data-peer': m.peer_id, 'data-role': m.role, title: m.peer_id },
        el('span', { class: 'dot', 'aria-hidden': 'true' }),
        el('span', { class: 'nick ' + colorClass(m.peer_id), text: me ? nickOf(m.peer_id) + ' (you)' : (m.display || nickOf(m.peer_id, m.nick)) }),
        m.role === 'admin' ? el('span', { class: 'role-badge', title: 'Admin: may invite, remove and promote', text: 'admin' }) : null);
      if (manage && !me) {
        const actions = el('span', { class: 'member-actions' });
        if (m.role !== 'admin') {
          const promote = el('button', { type: 'button', class: 'promote', title: 'Make ' + nickOf(m.peer_id, m.display) + ' an admin', text: 'Promote' });
          promote.addEventListener('click', () => memberAction(m, 'promote'));
          actions.append(promote);
        }
        const remove = el('button', { type: 'button', class: 'remove', title: 'Remove ' + nickOf(m.peer_id, m.display) + ' from #' + c.room, text: 'Remove' });
        remove.addEventListener('click', () => memberAction(m, 'remove'));
        actions.append(remove);
        li.append(actions);
      }
      return li;
    });
    if (!items.length) items.push(el('li', { class: 'empty', text: 'No members known yet' }));
    $('members-list').replaceChildren(...items);
  }

  async function memberAction(m, what) {
    const c = state.cur;
    if (!c || !c.room) return;
    const room = c.room;
    const name = nickOf(m.peer_id, m.display);
    const ok = what === 'remove'
      ? await confirmDialog(`Remove ${name} from #${room}? They keep what they already received, but get nothing new; the room's key changes.`, 'Remove', true)
      : await confirmDialog(`Make ${name} an admin of #${room}? Admins may invite, remove and promote members, and change the room's settings.`, 'Promote');
    if (!ok) return;
    const path = 'rooms/' + encodeURIComponent(room) + '/members/' + encodeURIComponent(m.peer_id);
    try {
      if (what === 'remove') await api('DELETE', path);
      else await api('POST', path + '/promote');
      showNotice(what === 'remove' ? `Removed ${name} from #${room}` : `${name} is now an admin of #${room}`);
    } catch (e) {
      showNotice(e.message);
    }
    if (state.cur && state.cur.room === room) loadMembers();
    refreshConvsSoon();
  }

  // confirmDialog asks a yes/no question in the page's own dialog and
  // resolves to the answer.
  let confirmAnswer = null;
  function confirmDialog(text, okLabel, danger) {
    const d = $('confirm-dialog');
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = okLabel;
    $('confirm-ok').className = danger ? 'danger' : '';
    if (confirmAnswer) confirmAnswer(false);
    return new Promise((resolve) => {
      confirmAnswer = resolve;
      if (!d.open) d.showModal();
    });
  }

  function answerConfirm(yes) {
    const answer = confirmAnswer;
    confirmAnswer = null;
    const d = $('confirm-dialog');
    if (d.open) d.close();
    if (answer) answer(yes);
  }

  // ---- private rooms: create, invite, join by link, settings ----

  async function createRoom() {
    const input = $('create-input');
    let name = input.value.trim();
    if (!name) return;
    if (!name.startsWith('#')) name = '#' + name;
    const priv = $('create-private').checked;
    try {
      const r = await api('POST', 'rooms', priv ? { name, private: true } : { name });
      input.value = '';
      await refreshConvs();
      select('#' + r.name);
      if (priv) showNotice(`Created the private room #${r.name}: Invite makes a link for the people you want in it.`);
    } catch (e) {
      showNotice(e.message);
    }
  }

  // inviteHint says what to do about an invite link that did not work,
  // by the API's status: gone (used up, expired, revoked), forbidden
  // (forged or damaged), not found (no member reached knows it).
  function inviteHint(status) {
    switch (status) {
      case 410: return 'Ask for a new link.';
      case 403: return 'Check that the whole link was copied, or ask for it again.';
      case 404: return 'Try again when a member of the room is online.';
      default: return '';
    }
  }

  async function joinByLink() {
    const input = $('link-input');
    const err = $('link-error');
    const link = input.value.trim();
    if (!link) return;
    err.hidden = true;
    err.textContent = '';
    if (!link.startsWith(INVITE_PREFIX)) {
      err.textContent = `That is not an invite link: one starts with ${INVITE_PREFIX}`;
      err.hidden = false;
      return;
    }
    const btn = $('link-button');
    btn.disabled = true; // joining asks members of the room: it may take a while
    try {
      const r = await api('POST', 'invites/accept', { link });
      input.value = '';
      await refreshConvs();
      select('#' + r.name);
      showNotice(r.changed ? `Joined the private room #${r.name}` : `Already in #${r.name}`);
    } catch (e) {
      const hint = inviteHint(e.status);
      err.textContent = `Could not join: ${e.message}${hint ? '. ' + hint : ''}`;
      err.dataset.status = String(e.status);
      err.hidden = false;
    } finally {
      btn.disabled = false;
    }
  }

  let inviteRoom = null; // the room the invite dialog is for
  let invite = null; // the invite it shows (POST /rooms/{name}/invites)

  function openInvite() {
    const c = state.cur;
    if (!c || !c.room) return;
    inviteRoom = c.room;
    invite = null;
    $('invite-title').textContent = 'Invite to #' + c.room;
    $('invite-uses').value = '';
    $('invite-expires').value = '';
    $('invite-result').hidden = true;
    $('invite-link').value = '';
    $('invite-qr').removeAttribute('src');
    $('invite-state').textContent = '';
    $('invite-revoke').hidden = true;
    const d = $('invite-dialog');
    if (!d.open) d.showModal();
    $('invite-uses').focus();
  }

  async function createInvite() {
    const room = inviteRoom;
    if (!room) return;
    const body = {};
    const uses = $('invite-uses').value.trim();
    const expires = $('invite-expires').value.trim();
    if (uses) {
      const n = Number(uses);
      if (!Number.isInteger(n) || n < 1 || n > MAX_INVITE_USES) {
        $('invite-state').textContent = `Uses: a whole number from 1 to ${MAX_INVITE_USES}`;
        return;
      }
      body.uses = n;
    }
    if (expires) body.expires = expires;
    const btn = $('invite-create');
    btn.disabled = true;
    try {
      const res = await api('POST', 'rooms/' + encodeURIComponent(room) + '/invites', body);
      if (inviteRoom !== room) return;
      invite = res;
      $('invite-link').value = res.link;
      $('invite-qr').src = '/api/v1/qr?' + query({ text: res.link });
      const n = res.uses;
      $('invite-meta').textContent = `Works ${n === 1 ? 'once' : n + ' times'}, until ${new Date(res.expires_at).toLocaleString()}.`;
      $('invite-result').hidden = false;
      $('invite-revoke').hidden = false;
      $('invite-revoke').disabled = false;
      $('invite-state').textContent = '';
      $('invite-state').className = '';
    } catch (e) {
      $('invite-state').textContent = e.message;
    } finally {
      btn.disabled = false;
    }
  }

  async function copyInvite() {
    const input = $('invite-link');
    if (!input.value) return;
    try {
      await navigator.clipboard.writeText(input.value);
      $('invite-state').textContent = 'Link copied';
    } catch (_) {
      // No clipboard (or no permission): select the link for Ctrl+C.
      input.focus();
      input.select();
      $('invite-state').textContent = 'Press Ctrl+C to copy the selected link';
    }
  }

  async function revokeInvite() {
    if (!invite) return;
    const btn = $('invite-revoke');
    btn.disabled = true;
    try {
      await api('POST', 'invites/revoke', { invite: invite.invite_id });
      const st = $('invite-state');
      st.textContent = 'Revoked: this link no longer works';
      st.className = 'revoked';
      btn.hidden = true;
      invite = null;
    } catch (e) {
      $('invite-state').textContent = e.message;
      btn.disabled = false;
    }
  }

  let settingsRoom = null;

  function openSettings() {
    const c = state.cur;
    const r = c && c.room ? state.rooms.get(c.room) : null;
    if (!isAdmin(r)) return;
    settingsRoom = r.name;
    $('settings-title').textContent = `Settings of #${r.name}`;
    $('settings-history').value = r.history || 'join';
    $('settings-invite').value = r.invite || 'admins';
    const d = $('settings-dialog');
    if (!d.open) d.showModal();
  }

  async function saveSettings() {
    const room = settingsRoom;
    if (!room) return;
    const btn = $('settings-save');
    btn.disabled = true;
    try {
      const r = await api('PATCH', 'rooms/' + encodeURIComponent(room), {
        history: $('settings-history').value,
        invite: $('settings-invite').value,
      });
      state.rooms.set(r.name, r);
      renderHeader();
      $('settings-dialog').close();
      showNotice(`Saved the settings of #${r.name}`);
    } catch (e) {
      showNotice(e.message);
    } finally {
      btn.disabled = false;
    }
  }

  // ---- files ----

  // INLINE are the only media types ever shown as images in the page
  // (the daemon serves just these inline, too); every other file, SVG and
  // HTML included, is only a download link.
  const INLINE = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
  const baseType = (mime) => String(mime || '').split(';')[0].trim().toLowerCase();
  const isImage = (f) => INLINE.has(baseType(f.mime));
  const fileURL = (hash, rest) => '/api/v1/files/' + encodeURIComponent(hash) + (rest || '');
  const PREVIEW_W = 320;
  const PREVIEW_H = 240;

  function humanSize(n) {
    if (!(n >= 1024)) return `${n || 0} B`;
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
  }

  // fitBox scales w×h down (never up) to fit maxW×maxH; [null, null] when
  // the manifest gave no size.
  function fitBox(w, h, maxW, maxH) {
    if (!(w > 0 && h > 0)) return [null, null];
    const s = Math.min(1, maxW / w, maxH / h);
    return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
  }

  const sources = new Map(); // hash -> peers a download is coming from

  function fileStateText(f) {
    switch (f.state) {
      case 'complete':
        return '';
      case 'downloading': {
        let t = 'downloading';
        if (f.size > 0) t += ` ${Math.floor((100 * (f.have || 0)) / f.size)}%`;
        const n = sources.get(f.hash);
        if (n) t += ` from ${n} peer${n === 1 ? '' : 's'}`;
        return t;
      }
      case 'failed':
        return 'failed' + (f.reason ? ': ' + f.reason : '');
      default:
        return 'not downloaded';
    }
  }

  // fileCard shows one file of message m: its name, size and state; an
  // image's preview (click: the viewer); a download link once complete; a
  // Get button while it is not here.
  function fileCard(m, f) {
    const card = el('div', {
      class: 'file', 'data-hash': f.hash, 'data-msg': m.id, 'data-state': f.state, 'data-mime': baseType(f.mime),
    });
    if (isImage(f) && (f.thumb || f.state === 'complete')) {
      const [w, h] = fitBox(f.width, f.height, PREVIEW_W, PREVIEW_H);
      const img = el('img', {
        class: 'preview', alt: f.name, width: w, height: h,
        src: f.thumb ? fileURL(f.hash, '/thumb') : fileURL(f.hash),
      });
      const open = el('button', { type: 'button', class: 'preview-button', title: 'View ' + f.name }, img);
      open.addEventListener('click', () => openViewer(m.id, f.hash));
      card.append(open);
    }
    card.append(el('div', { class: 'file-meta' },
      el('span', { class: 'file-name', title: f.name, text: f.name }),
      el('span', { class: 'file-size', text: humanSize(f.size) }),
      el('span', { class: 'file-state', text: fileStateText(f) })));
    if (f.state === 'downloading') {
      card.append(el('progress', { class: 'file-progress', max: f.size || 1, value: f.have || 0, 'aria-label': 'Downloading ' + f.name }));
    }
    if (f.state === 'complete') {
      card.append(el('a', { class: 'file-download', href: fileURL(f.hash, '?download=1'), download: f.name, text: 'Download' }));
    } else if (f.state === 'remote' || f.state === 'failed') {
      const get = el('button', { type: 'button', class: 'file-get', text: f.state === 'failed' ? 'Retry' : 'Get' });
      get.addEventListener('click', () => fetchFiles(m.id));
      card.append(get);
    }
    return card;
  }

  const filesNode = (m) => el('div', { class: 'files' }, ...m.files.map((f) => fileCard(m, f)));

  // fileChanged applies what is now known of a file to every message of
  // the open conversation that has it, and redraws those cards.
  function fileChanged(hash, change) {
    for (const m of state.thread ? state.msgs.concat(state.thread.msgs) : state.msgs) {
      for (const f of m.files || []) {
        if (f.hash !== hash) continue;
        // A progress note can overtake the completion it preceded.
        if (f.state === 'complete' && change.state === 'downloading') continue;
        Object.assign(f, change);
        if (f.state === 'complete') f.have = f.size;
      }
    }
    for (const card of document.querySelectorAll(`.file[data-hash="${CSS.escape(hash)}"]`)) {
      const m = findMsg(card.dataset.msg);
      const f = m && (m.files || []).find((x) => x.hash === hash);
      if (!f) continue;
      const bar = card.querySelector('progress');
      if (card.dataset.state === f.state && bar) { // progress: no new nodes
        bar.max = f.size || 1;
        bar.value = f.have || 0;
        card.querySelector('.file-state').textContent = fileStateText(f);
      } else {
        card.replaceWith(fileCard(m, f));
      }
    }
    if (viewing && viewing.hash === hash) renderViewer();
  }

  const fetching = new Set(); // message IDs whose files are being fetched

  // fetchFiles asks the daemon for every file of message id (POST fetch
  // answers once all are here); file events move the cards meanwhile.
  async function fetchFiles(id) {
    const m = findMsg(id);
    if (!m || fetching.has(id)) return;
    fetching.add(id);
    for (const f of m.files || []) {
      if (f.state !== 'complete') fileChanged(f.hash, { state: 'downloading', reason: '' });
    }
    try {
      const r = await api('POST', 'messages/' + encodeURIComponent(id) + '/fetch', {});
      for (const f of (r && r.files) || []) fileChanged(f.hash, { state: 'complete', path: f.path });
    } catch (e) {
      showNotice('Could not get the files: ' + e.message);
      for (const f of m.files || []) {
        if (f.state !== 'complete') fileChanged(f.hash, { state: 'failed', reason: e.message });
      }
    } finally {
      fetching.delete(id);
    }
  }

  // ---- the image viewer ----

  let viewing = null; // {id, hash}: the image the viewer shows

  function viewedFile() {
    const m = viewing && findMsg(viewing.id);
    return m && (m.files || []).find((f) => f.hash === viewing.hash);
  }

  function openViewer(id, hash) {
    viewing = { id, hash };
    const f = viewedFile();
    if (!f || !isImage(f)) {
      viewing = null;
      return;
    }
    renderViewer();
    const d = $('viewer');
    if (!d.open) d.showModal();
    if (f.state === 'remote' || f.state === 'failed') fetchFiles(id);
  }

  // renderViewer shows the viewed image: the whole file once it is here,
  // its preview until then.
  function renderViewer() {
    const f = viewedFile();
    if (!f) return;
    let title = `${f.name} · ${humanSize(f.size)}`;
    if (f.width && f.height) title += ` · ${f.width}×${f.height}`;
    if (f.state !== 'complete') title += ' · ' + fileStateText(f);
    $('viewer-title').textContent = title;
    const img = $('viewer-img');
    img.alt = f.name;
    const [w, h] = fitBox(f.width, f.height, window.innerWidth * 0.9, window.innerHeight * 0.8);
    if (w) {
      img.width = w;
      img.height = h;
    } else {
      img.removeAttribute('width');
      img.removeAttribute('height');
    }
    const src = f.state === 'complete' ? fileURL(f.hash) : f.thumb ? fileURL(f.hash, '/thumb') : '';
    if (img.getAttribute('src') !== src) {
      if (src) img.src = src;
      else img.removeAttribute('src');
    }
    const dl = $('viewer-download');
    dl.hidden = f.state !== 'complete';
    dl.href = fileURL(f.hash, '?download=1');
    dl.setAttribute('download', f.name);
  }

  // ---- sending files ----

  // named gives a pasted image a name that says when it was pasted
  // (browsers call every one "image.png").
  function named(file) {
    if (file.name && !/^image\.[a-z]+$/i.test(file.name)) return file;
    const d = new Date();
    const ext = (file.type.split('/')[1] || 'bin').replace(/[^a-z0-9]/gi, '');
    const stamp = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}.${pad(d.getMinutes())}.${pad(d.getSeconds())}`;
    return new File([file], `pasted ${stamp}.${ext}`, { type: file.type });
  }

  // uploadFiles shares files in the open conversation, in one message
  // with the composer's text as its caption; a line above the composer
  // shows how far the upload is (XMLHttpRequest: fetch cannot tell).
  function uploadFiles(list) {
    const c = state.cur;
    const files = [...list];
    if (!c || !files.length) return;
    const ta = $('composer-input');
    const text = ta.value.trim() ? ta.value : '';
    ta.value = '';
    const params = { to: c.with };
    if (text) params.text = text;
    const form = new FormData();
    for (const f of files) form.append('file', f, f.name);
    const label = files.length === 1 ? files[0].name : `${files.length} files`;
    const total = files.reduce((n, f) => n + f.size, 0);
    const bar = el('progress', { max: total || 1, value: 0, 'aria-label': 'Sending ' + label });
    const pct = el('span', { class: 'upload-pct', text: '0%' });
    const cancel = el('button', { type: 'button', class: 'upload-cancel', title: 'Cancel', 'aria-label': 'Cancel sending ' + label, text: '✕' });
    const item = el('li', { class: 'upload' },
      el('span', { class: 'upload-name', text: `Sending ${label} (${humanSize(total)}) to ${c.room ? '#' + c.room : nickOf(c.peer)}` }),
      bar, pct, cancel);
    $('uploads').append(item);
    const restore = () => {
      item.remove();
      if (text && ta.value === '') ta.value = text;
    };
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/files?' + query(params));
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      bar.max = e.total || 1;
      bar.value = e.loaded;
      pct.textContent = e.loaded >= e.total ? 'sharing…' : `${Math.floor((100 * e.loaded) / e.total)}%`;
    };
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch (_) { /* not JSON */ }
      if (xhr.status === 201 && data) {
        item.remove();
        if (state.cur && data.conversation === state.cur.conv) addLive(data);
        return;
      }
      restore();
      if (xhr.status === 401) showLogin();
      let why = (data && data.error) || `${xhr.status} ${xhr.statusText}`;
      if (xhr.status === 413) why = 'too large: ' + why;
      showNotice(`Could not share ${label}: ${why}`);
    };
    xhr.onerror = () => {
      restore();
      showNotice(`Could not share ${label}: the daemon does not answer: is it running?`);
    };
    xhr.onabort = restore;
    cancel.addEventListener('click', () => xhr.abort());
    xhr.send(form);
  }

  const hasFiles = (e) => !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');

  function wireFiles() {
    const input = $('file-input');
    $('attach-button').addEventListener('click', () => input.click());
    input.addEventListener('change', () => {
      uploadFiles(input.files);
      input.value = ''; // the same file again is a new share
    });
    $('composer-input').addEventListener('paste', (e) => {
      const files = e.clipboardData ? [...e.clipboardData.files] : [];
      if (!files.length) return; // text: pasted as usual
      e.preventDefault();
      uploadFiles(files.map(named));
    });
    // Drag and drop onto the conversation (timeline and composer).
    const main = $('main');
    const hint = $('drop-hint');
    let depth = 0;
    const hide = () => {
      depth = 0;
      hint.hidden = true;
    };
    main.addEventListener('dragenter', (e) => {
      if (!hasFiles(e) || !state.cur) return;
      e.preventDefault();
      if (depth++ === 0) {
        $('drop-hint-text').textContent = 'Drop files to share them in ' + (state.cur.room ? '#' + state.cur.room : nickOf(state.cur.peer));
        hint.hidden = false;
      }
    });
    main.addEventListener('dragover', (e) => {
      if (!hasFiles(e) || !state.cur) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    main.addEventListener('dragleave', (e) => {
      if (!hasFiles(e) || depth === 0) return;
      if (--depth === 0) hint.hidden = true;
    });
    main.addEventListener('drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      hide();
      if (state.cur) uploadFiles(e.dataTransfer.files);
    });
    // A file dropped anywhere else must not replace the client with itself.
    window.addEventListener('dragover', (e) => {
      if (!hasFiles(e) || main.contains(e.target)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'none';
    });
    window.addEventListener('drop', (e) => {
      if (hasFiles(e)) e.preventDefault();
      hide();
    });
    window.addEventListener('dragend', hide);
    // The viewer: Esc (the dialog's own), the Close button or a click
    // outside the image closes it.
    const viewer = $('viewer');
    $('viewer-close').addEventListener('click', () => viewer.close());
    viewer.addEventListener('click', (e) => {
      if (e.target === viewer) viewer.close();
    });
    viewer.addEventListener('close', () => {
      viewing = null;
      $('viewer-img').removeAttribute('src');
    });
  }

  // ---- user input ----

  async function send() {
    const ta = $('composer-input');
    const text = ta.value;
    const c = state.cur;
    if (!c || !text.trim()) return;
    ta.value = '';
    const replyTo = state.replyTo;
    try {
      const answer = replyTo
        ? await api('POST', 'messages/' + encodeURIComponent(replyTo) + '/reply', { text })
        : await api('POST', 'messages', { to: c.with, text });
      if (replyTo && state.replyTo === replyTo) cancelReply();
      // A registered slash command ran instead: its answer shows as an
      // ephemeral event, or as the message it posted.
      const m = commandMessage(answer);
      if (m && state.cur && m.conversation === state.cur.conv) addLive(m);
    } catch (e) {
      if (ta.value === '') ta.value = text;
      showNotice(e.message);
    }
  }

  // commandMessage is the message a send answered with: the message
  // sent, or when the text ran a slash command, the message its
  // in_channel answer posted (null for an ephemeral or empty answer).
  function commandMessage(answer) {
    if (answer.command === undefined) return answer;
    if (!answer.text && !answer.message) showNotice(`${answer.command}: no answer yet`);
    return answer.message || null;
  }

  // onClose runs fn when a dialog closes. A dialog's close event comes a
  // task after close(): by then the dialog may be open again (a quick
  // second click), and the event belongs to the closing before, so it is
  // let go.
  function onClose(id, fn) {
    const d = $(id);
    d.addEventListener('close', () => {
      if (!d.open) fn();
    });
  }

  function wire() {
    const ta = $('composer-input');
    ta.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        send();
      }
    });
    ta.addEventListener('input', () => {
      const c = state.cur;
      if (!c || !c.room || !ta.value.trim() || Date.now() - state.lastTyping < TYPING_SEND_MS) return;
      state.lastTyping = Date.now();
      api('POST', 'typing', { with: c.with }).catch(() => {});
    });
    $('composer').addEventListener('submit', (e) => {
      e.preventDefault();
      send();
    });
    $('join-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const input = $('join-input');
      let name = input.value.trim();
      if (!name) return;
      if (!name.startsWith('#')) name = '#' + name;
      try {
        const r = await api('POST', 'rooms', { name });
        input.value = '';
        await refreshConvs();
        select('#' + r.name);
      } catch (err) {
        showNotice(err.message);
      }
    });
    $('leave-button').addEventListener('click', async () => {
      const c = state.cur;
      const btn = $('leave-button');
      if (!c || !c.room) return;
      btn.disabled = true; // leaving waits (briefly) for the leave line to go out
      try {
        await api('DELETE', 'rooms/' + encodeURIComponent(c.room));
        await refreshConvs();
        if (state.cur && state.cur.room === c.room) selectDefault();
      } catch (e) {
        showNotice(e.message);
      } finally {
        btn.disabled = false;
      }
    });
    $('create-form').addEventListener('submit', (e) => {
      e.preventDefault();
      createRoom();
    });
    $('link-form').addEventListener('submit', (e) => {
      e.preventDefault();
      joinByLink();
    });
    $('link-input').addEventListener('input', () => { $('link-error').hidden = true; });
    $('invite-button').addEventListener('click', openInvite);
    $('invite-form').addEventListener('submit', (e) => {
      e.preventDefault();
      createInvite();
    });
    $('invite-copy').addEventListener('click', copyInvite);
    $('invite-revoke').addEventListener('click', revokeInvite);
    $('invite-close').addEventListener('click', () => $('invite-dialog').close());
    onClose('invite-dialog', () => { inviteRoom = null; invite = null; });
    $('settings-button').addEventListener('click', openSettings);
    $('settings-save').addEventListener('click', saveSettings);
    $('settings-form').addEventListener('submit', (e) => {
      e.preventDefault();
      saveSettings();
    });
    $('settings-close').addEventListener('click', () => $('settings-dialog').close());
    onClose('settings-dialog', () => { settingsRoom = null; });
    $('confirm-ok').addEventListener('click', () => answerConfirm(true));
    $('confirm-cancel').addEventListener('click', () => answerConfirm(false));
    onClose('confirm-dialog', () => answerConfirm(false)); // Escape: no
    $('safety-button').addEventListener('click', () => {
      if (state.cur && state.cur.peer) openSafety(state.cur.peer);
    });
    $('safety-verify').addEventListener('click', verifySafety);
    $('safety-close').addEventListener('click', () => $('safety-dialog').close());
    onClose('safety-dialog', () => { safetyPeer = null; });
    $('load-older').addEventListener('click', () => loadOlder());
    $('reply-cancel').addEventListener('click', cancelReply);
    $('thread-close').addEventListener('click', closeThread);
    $('thread-form').addEventListener('submit', (e) => {
      e.preventDefault();
      sendThread();
    });
    $('thread-input').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        sendThread();
      }
    });
    $('search-form').addEventListener('submit', (e) => {
      e.preventDefault();
      runSearch();
    });
    $('search-input').addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.isComposing) {
        e.preventDefault();
        runSearch();
      } else if (e.key === 'Escape') {
        closeSearch();
      }
    });
    $('search-close').addEventListener('click', closeSearch);
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      if (state.picking) closePicker();
      else if (state.replyTo && document.activeElement === $('composer-input')) cancelReply();
    });
    $('timeline').addEventListener('scroll', (e) => {
      if (e.target.scrollTop < 60) loadOlder();
    });
    $('notice').addEventListener('click', () => { $('notice').hidden = true; });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && state.cur) markRead();
      renderConvs(); // the title's count
    });
    // Browser notifications: permission is asked from this button (a
    // user gesture), never on load.
    const nb = $('notify-button');
    const showNotifyButton = () => {
      nb.hidden = !('Notification' in window) || Notification.permission !== 'default';
    };
    showNotifyButton();
    nb.addEventListener('click', () => {
      Promise.resolve(Notification.requestPermission()).then(showNotifyButton, showNotifyButton);
    });
  }

  async function init() {
    wire();
    wireFiles();
    ParleyIntegrations.init({ api, confirm: confirmDialog, convs: () => state.convs });
    try {
      state.me = await api('GET', 'id');
    } catch (e) {
      if (e.status !== 401) $('loading').textContent = e.message;
      return;
    }
    const me = $('me-nick');
    me.textContent = state.me.nick || short(state.me.peer_id);
    me.title = `${state.me.peer_id}\nfingerprint ${state.me.fingerprint}`;
    try {
      await Promise.all([loadPeers(), refreshConvs()]);
    } catch (e) {
      $('loading').textContent = e.message;
      return;
    }
    $('loading').hidden = true;
    $('app').hidden = false;
    connectEvents();
    const want = hashTarget();
    if (want) select(want);
    else selectDefault();
    window.addEventListener('hashchange', () => {
      const w = hashTarget();
      if (w && !(state.cur && state.cur.with === w)) select(w);
    });
  }

  // hashTarget is the conversation the address names (#%23room or #<peer ID>).
  function hashTarget() {
    try {
      return decodeURIComponent(location.hash.slice(1));
    } catch (_) {
      return '';
    }
  }

  document.addEventListener('DOMContentLoaded', init);
})();
