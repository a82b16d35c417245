// Parley web client: the Integrations panel. Webhooks (incoming, native
// receivers, outgoing, with an outgoing hook's deliveries), slash commands
// and API tokens of this node, through the same /api/v1/ endpoints the CLI
// uses. A secret (a webhook's URL and secret, a new token) is shown once,
// right after it is made, in a read-only field with a copy button; lists
// never show a token again. app.js calls init with its API helper.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  let deps = null; // {api, confirm, convs}
  let tab = 'webhooks';
  let deliveriesOf = null; // the outgoing hook whose deliveries are shown

  const el = ParleyRich.el;

  const when = (t) => (t ? new Date(t).toLocaleString() : '');

  // showError says what the API answered in the panel, beside what failed.
  function showError(id, e) {
    const p = $(id);
    p.textContent = e ? (e.message || String(e)) : '';
    p.hidden = !e;
  }

  // convName names a conversation ID (room:NAME, dm:PEER) as the sidebar does.
  function convName(conv) {
    const c = deps.convs().find((x) => x.conversation === conv);
    if (c) return c.name;
    if (conv.startsWith('room:')) return '#' + conv.slice(5);
    return conv;
  }

  // convTarget is how the API names a conversation the user picks.
  const convTarget = (c) => (c.kind === 'room' ? '#' + c.room : c.peer_id);

  async function copy(input, stateText) {
    if (!input.value) return;
    const st = $('integrations-state');
    try {
      await navigator.clipboard.writeText(input.value);
      st.textContent = stateText + ' copied';
    } catch (_) {
      input.focus();
      input.select();
      st.textContent = 'Press Ctrl+C to copy the selected ' + stateText.toLowerCase();
    }
  }

  function copyButton(value, label) {
    const input = el('input', { class: 'copy-value', readonly: '', spellcheck: 'false', 'aria-label': label });
    input.value = value;
    const b = el('button', { type: 'button', class: 'copy', title: 'Copy the ' + label.toLowerCase(), text: 'Copy' });
    b.addEventListener('click', () => copy(input, label));
    return el('span', { class: 'row copy-row' }, input, b);
  }

  // ---- tabs ----

  function showTab(name) {
    tab = name;
    for (const t of ['webhooks', 'commands', 'tokens']) {
      $('tab-' + t).setAttribute('aria-selected', String(t === name));
      $('integ-' + t).hidden = t !== name;
    }
    $('integrations-state').textContent = '';
    refresh();
  }

  function refresh() {
    if (tab === 'webhooks') return loadWebhooks();
    if (tab === 'commands') return loadCommands();
    return loadTokens();
  }

  function open() {
    const d = $('integrations-dialog');
    fillConvs();
    if (!d.open) d.showModal();
    showTab(tab);
  }

  // fillConvs offers the joined rooms and direct conversations: in the
  // webhook form's picker, and as the token form's check boxes.
  function fillConvs() {
    const convs = [...deps.convs()].filter((c) => !c.removed)
      .sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'room' ? -1 : 1));
    const sel = $('webhook-conv');
    const was = sel.value;
    sel.replaceChildren(...convs.map((c) => el('option', { value: convTarget(c), 'data-conv': c.conversation, text: c.name })));
    if (was && [...sel.options].some((o) => o.value === was)) sel.value = was;
    const box = $('token-convs');
    const checked = new Set([...box.querySelectorAll('input:checked')].map((i) => i.value));
    box.replaceChildren(...convs.map((c) => {
      const input = el('input', { type: 'checkbox', value: c.conversation, 'data-conv': c.conversation });
      input.checked = checked.has(c.conversation);
      return el('label', { class: 'check' }, input, ' ' + c.name);
    }), el('span', { class: 'hint', text: 'none ticked: every conversation' }));
  }

  // ---- webhooks ----

  const KINDS = { slack: 'incoming', github: 'GitHub', gitlab: 'GitLab', jira: 'Jira', outgoing: 'outgoing' };

  async function loadWebhooks() {
    let hooks;
    try {
      hooks = await deps.api('GET', 'webhooks');
    } catch (e) {
      showError('webhooks-error', e);
      return;
    }
    showError('webhooks-error', null);
    const items = hooks.map((h) => {
      const li = el('li', { class: 'integ-item', 'data-name': h.name, 'data-kind': h.kind },
        el('div', { class: 'integ-main' },
          el('span', { class: 'integ-name', text: h.name }),
          el('span', { class: 'integ-tag', text: KINDS[h.kind] || h.kind }),
          el('span', { class: 'integ-conv', text: convName(h.conversation) }),
          el('span', { class: 'integ-meta', text: 'made ' + when(h.created) })),
        h.url ? copyButton(h.url, h.kind === 'outgoing' ? 'Target URL' : 'URL')
          : el('span', { class: 'hint', text: 'No URL: the hooks listener is off (hooks_listen in config.toml, or --hooks-listen)' }),
        h.kind === 'outgoing' && h.triggers && h.triggers.length ? el('span', { class: 'integ-meta', text: 'triggers: ' + h.triggers.join(', ') }) : null);
      const actions = el('span', { class: 'integ-actions' });
      if (h.kind === 'outgoing') {
        const d = el('button', { type: 'button', class: 'deliveries-button', text: 'Deliveries' });
        d.addEventListener('click', () => showDeliveries(h.name));
        actions.append(d);
      }
      const del = el('button', { type: 'button', class: 'delete danger-text', text: 'Delete' });
      del.addEventListener('click', () => deleteWebhook(h));
      actions.append(del);
      li.append(actions);
      return li;
    });
    if (!items.length) items.push(el('li', { class: 'empty', text: 'No webhooks yet' }));
    $('webhooks-list').replaceChildren(...items);
  }

  function kindChanged() {
    const kind = $('webhook-kind').value;
    const native = kind === 'github' || kind === 'gitlab' || kind === 'jira';
    for (const e of document.querySelectorAll('#webhook-form .for-native')) e.hidden = !native;
    for (const e of document.querySelectorAll('#webhook-form .for-outgoing')) e.hidden = kind !== 'outgoing';
  }

  async function createWebhook() {
    const kind = $('webhook-kind').value;
    const body = { conversation: $('webhook-conv').value, name: $('webhook-name').value.trim(), kind };
    if (!body.conversation) {
      showError('webhook-error', new Error('Pick a conversation: join a room first, or open a direct conversation'));
      return;
    }
    if (!body.name) {
      showError('webhook-error', new Error('Give the webhook a name: its messages show it'));
      return;
    }
    if (kind === 'github' || kind === 'gitlab' || kind === 'jira') {
      const secret = $('webhook-secret').value.trim();
      if (secret) body.secret = secret;
    }
    if (kind === 'outgoing') {
      body.url = $('webhook-url').value.trim();
      const triggers = $('webhook-triggers').value.split(/[,\s]+/).filter(Boolean);
      if (triggers.length) body.triggers = triggers;
    }
    const btn = $('webhook-create');
    btn.disabled = true;
    $('webhook-created').hidden = true;
    try {
      const h = await deps.api('POST', 'webhooks', body);
      showError('webhook-error', null);
      $('webhook-name').value = '';
      $('webhook-secret').value = '';
      $('webhook-url').value = '';
      $('webhook-triggers').value = '';
      showCreated(h);
      loadWebhooks();
    } catch (e) {
      showError('webhook-error', e);
    } finally {
      btn.disabled = false;
    }
  }

  // showCreated shows a new webhook's URL and secret, this once.
  function showCreated(h) {
    const out = h.kind === 'outgoing';
    $('webhook-created-note').textContent = out
      ? `${h.name} POSTs matching messages of ${convName(h.conversation)} to its URL, signed with this secret (Standard Webhooks): give the secret to the receiver now, it is not shown again.`
      : `${h.name} posts into ${convName(h.conversation)}: give this URL${h.secret ? ' and secret' : ''} to the tool now. Whoever has the URL can post.`;
    $('webhook-created-url-label').textContent = out ? 'POSTs to' : 'URL';
    $('webhook-created-url').value = h.url || '(no URL: the hooks listener is off)';
    const secret = !!h.secret;
    $('webhook-created-secret').value = h.secret || '';
    $('webhook-created-secret-label').hidden = !secret;
    $('webhook-created-secret-row').hidden = !secret;
    $('webhook-created').hidden = false;
  }

  async function deleteWebhook(h) {
    if (!await deps.confirm(`Delete the webhook ${h.name}? ${h.kind === 'outgoing' ? 'Nothing more is POSTed to its URL.' : 'Its URL stops working at once.'}`, 'Delete', true)) return;
    try {
      await deps.api('DELETE', 'webhooks/' + encodeURIComponent(h.name));
      showError('webhooks-error', null);
      $('integrations-state').textContent = `Deleted the webhook ${h.name}`;
      if (deliveriesOf === h.name) hideDeliveries();
    } catch (e) {
      showError('webhooks-error', e);
    }
    loadWebhooks();
  }

  async function showDeliveries(name) {
    deliveriesOf = name;
    $('deliveries-title').textContent = 'Deliveries of ' + name;
    $('deliveries').hidden = false;
    let ds;
    try {
      ds = await deps.api('GET', 'webhooks/' + encodeURIComponent(name) + '/deliveries');
    } catch (e) {
      showError('webhooks-error', e);
      return;
    }
    if (deliveriesOf !== name) return;
    showError('webhooks-error', null);
    const rows = ds.map((d) => el('tr', { 'data-id': d.id, 'data-status': d.status },
      el('td', { class: 'mono', title: d.id, text: d.id }),
      el('td', { class: 'status ' + d.status, text: d.status }),
      el('td', { class: 'num', text: String(d.attempts) }),
      el('td', { class: 'last-error', text: d.last_error || '' }),
      el('td', { text: d.next_attempt ? when(d.next_attempt) : '' })));
    if (!rows.length) rows.push(el('tr', { class: 'empty' }, el('td', { colspan: 5, text: 'Nothing delivered yet' })));
    $('deliveries-body').replaceChildren(...rows);
  }

  function hideDeliveries() {
    deliveriesOf = null;
    $('deliveries').hidden = true;
    $('deliveries-body').replaceChildren();
  }

  // ---- slash commands ----

  async function loadCommands() {
    let cmds;
    try {
      cmds = await deps.api('GET', 'commands');
    } catch (e) {
      showError('commands-error', e);
      return;
    }
    showError('commands-error', null);
    const items = cmds.map((c) => {
      const del = el('button', { type: 'button', class: 'delete danger-text', text: 'Delete' });
      del.addEventListener('click', () => deleteCommand(c));
      return el('li', { class: 'integ-item', 'data-name': c.name },
        el('div', { class: 'integ-main' },
          el('span', { class: 'integ-name mono', text: c.name }),
          el('span', { class: 'integ-conv', title: c.url, text: c.url }),
          el('span', { class: 'integ-meta', text: 'made ' + when(c.created) })),
        copyButton(c.token, 'Token'),
        el('span', { class: 'integ-actions' }, del));
    });
    if (!items.length) items.push(el('li', { class: 'empty', text: 'No slash commands yet' }));
    $('commands-list').replaceChildren(...items);
  }

  async function createCommand() {
    let name = $('command-name').value.trim();
    if (name && !name.startsWith('/')) name = '/' + name;
    const body = { name, url: $('command-url').value.trim() };
    const token = $('command-token').value.trim();
    if (token) body.token = token;
    const btn = $('command-create');
    btn.disabled = true;
    try {
      const c = await deps.api('POST', 'commands', body);
      showError('command-error', null);
      for (const id of ['command-name', 'command-url', 'command-token']) $(id).value = '';
      $('integrations-state').textContent = `Created ${c.name}`;
      loadCommands();
    } catch (e) {
      showError('command-error', e);
    } finally {
      btn.disabled = false;
    }
  }

  async function deleteCommand(c) {
    if (!await deps.confirm(`Delete the slash command ${c.name}?`, 'Delete', true)) return;
    try {
      await deps.api('DELETE', 'commands/' + encodeURIComponent(c.name.replace(/^\//, '')));
      showError('commands-error', null);
      $('integrations-state').textContent = `Deleted ${c.name}`;
    } catch (e) {
      showError('commands-error', e);
    }
    loadCommands();
  }

  // ---- API tokens ----

  async function loadTokens() {
    let toks;
    try {
      toks = await deps.api('GET', 'tokens');
    } catch (e) {
      showError('tokens-error', e);
      return;
    }
    showError('tokens-error', null);
    const items = toks.map((t) => {
      const revoke = el('button', { type: 'button', class: 'revoke danger-text', text: 'Revoke' });
      revoke.addEventListener('click', () => revokeToken(t));
      const convs = t.convs && t.convs.length ? t.convs.map(convName).join(', ') : 'every conversation';
      return el('li', { class: 'integ-item', 'data-name': t.name, 'data-scope': t.scope },
        el('div', { class: 'integ-main' },
          el('span', { class: 'integ-name', text: t.name }),
          el('span', { class: 'integ-tag', text: t.scope }),
          el('span', { class: 'integ-conv', text: convs }),
          el('span', { class: 'integ-meta', text: `made ${when(t.created)} · ${t.last_used ? 'last used ' + when(t.last_used) : 'never used'}` })),
        el('span', { class: 'integ-actions' }, revoke));
    });
    if (!items.length) items.push(el('li', { class: 'empty', text: 'No tokens yet' }));
    $('tokens-list').replaceChildren(...items);
  }

  async function createToken() {
    const body = {
      name: $('token-name').value.trim(),
      scope: $('token-scope').value,
      convs: [...document.querySelectorAll('#token-convs input:checked')].map((i) => i.value),
    };
    const btn = $('token-create');
    btn.disabled = true;
    $('token-created').hidden = true;
    try {
      const t = await deps.api('POST', 'tokens', body);
      showError('token-error', null);
      $('token-name').value = '';
      for (const i of document.querySelectorAll('#token-convs input:checked')) i.checked = false;
      $('token-created-value').value = t.token;
      $('token-created').hidden = false;
      loadTokens();
    } catch (e) {
      showError('token-error', e);
    } finally {
      btn.disabled = false;
    }
  }

  async function revokeToken(t) {
    if (!await deps.confirm(`Revoke the token ${t.name}? Scripts using it are refused from now on.`, 'Revoke', true)) return;
    try {
      await deps.api('DELETE', 'tokens/' + encodeURIComponent(t.name));
      showError('tokens-error', null);
      $('integrations-state').textContent = `Revoked ${t.name}`;
    } catch (e) {
      showError('tokens-error', e);
    }
    loadTokens();
  }

  // init wires the panel: api(method, path, body) is app.js's API call,
  // confirm(text, okLabel, danger) its yes/no dialog, convs() the
  // conversations the sidebar lists.
  function init(d) {
    deps = d;
    $('integrations-button').addEventListener('click', open);
    $('integrations-close').addEventListener('click', () => $('integrations-dialog').close());
    $('integrations-dialog').addEventListener('close', () => {
      // What was shown once goes with the panel.
      $('webhook-created').hidden = true;
      $('webhook-created-url').value = '';
      $('webhook-created-secret').value = '';
      $('token-created').hidden = true;
      $('token-created-value').value = '';
      hideDeliveries();
    });
    for (const t of ['webhooks', 'commands', 'tokens']) $('tab-' + t).addEventListener('click', () => showTab(t));
    $('webhook-kind').addEventListener('change', kindChanged);
    $('webhook-form').addEventListener('submit', (e) => {
      e.preventDefault();
      createWebhook();
    });
    $('webhook-copy-url').addEventListener('click', () => copy($('webhook-created-url'), 'URL'));
    $('webhook-copy-secret').addEventListener('click', () => copy($('webhook-created-secret'), 'Secret'));
    $('deliveries-refresh').addEventListener('click', () => {
      if (deliveriesOf) showDeliveries(deliveriesOf);
    });
    $('deliveries-close').addEventListener('click', hideDeliveries);
    $('command-form').addEventListener('submit', (e) => {
      e.preventDefault();
      createCommand();
    });
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      createToken();
    });
    $('token-copy').addEventListener('click', () => copy($('token-created-value'), 'Token'));
    kindChanged();
  }

  // conversationsChanged refreshes the pickers while the panel is open.
  function conversationsChanged() {
    if (deps && $('integrations-dialog').open) fillConvs();
  }

  globalThis.ParleyIntegrations = { init, conversationsChanged };
})();
