// Parley web client: app messages (incoming webhooks, native receivers)
// drawn with their formatting. A message's "rich" field is a Slack
// payload that another node made and signed: the daemon that hosted the
// hook sanitised it, but a peer can send anything, so nothing in it is
// trusted here. Every part of it goes into the page as text
// (textContent, text nodes, attribute values set one by one), links only
// when they are http, https or mailto, colors only when they are #RGB,
// #RRGGBB or one of Slack's three names. No remote image or icon is ever
// loaded: a picture a payload names is a link the reader may follow.
//
// parse is the mrkdwn grammar the daemon accepts (internal/hooks,
// ParseMrkdwn): a Go test runs both on the same inputs and wants the same
// spans.
'use strict';
(() => {
  // ---- mrkdwn ----

  // Go's unicode.IsSpace and unicode.IsControl, as SafeURL uses them.
  const UNSAFE_CHAR = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\p{Cc}]/u;

  // safeURL: a link a reader may open (hooks.SafeURL): http, https or
  // mailto, with no spaces or control characters.
  function safeURL(u) {
    if (typeof u !== 'string' || u.length <= 'mailto:'.length) return false;
    const lower = u.toLowerCase();
    const ok = lower.startsWith('https://') || lower.startsWith('http://') || lower.startsWith('mailto:');
    return ok && !UNSAFE_CHAR.test(u);
  }

  const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>' };
  const entities = (s) => s.replace(/&(?:amp|lt|gt);/g, (e) => ENTITIES[e]);

  const span = (st, text) => ({
    text, bold: !!st.bold, italic: !!st.italic, strike: !!st.strike, code: false, pre: false, quote: !!st.quote, url: '',
  });

  const sameLook = (a, b) => a.bold === b.bold && a.italic === b.italic && a.strike === b.strike &&
    a.code === b.code && a.pre === b.pre && a.quote === b.quote && a.url === b.url;

  // appendSpan appends sp, merged into the last span when they look the
  // same; empty text is dropped.
  function appendSpan(out, sp) {
    if (sp.text === '') return;
    const last = out[out.length - 1];
    if (last && sp.url === '' && last.url === '' && !sp.pre && !last.pre && sameLook(last, sp)) {
      last.text += sp.text;
      return;
    }
    out.push(sp);
  }

  const WORD = /^[\p{L}\p{Nd}]$/u;
  // The code point that ends before index i, and the one starting at i.
  function cpBefore(s, i) {
    const lo = s.charCodeAt(i - 1);
    if (i >= 2 && lo >= 0xdc00 && lo <= 0xdfff) return String.fromCodePoint(s.codePointAt(i - 2));
    return s[i - 1];
  }
  const cpAt = (s, i) => String.fromCodePoint(s.codePointAt(i));

  // closing finds where the delimiter at s[open] closes: the same
  // character later on the line, with text that neither starts nor ends
  // with a space between them, and no letter or digit outside either.
  function closing(s, open) {
    const c = s[open];
    if (open > 0 && WORD.test(cpBefore(s, open))) return -1;
    if (open + 1 >= s.length || s[open + 1] === ' ' || s[open + 1] === c) return -1;
    for (let j = open + 2; j < s.length; j++) {
      if (s[j] === '\n') return -1;
      if (s[j] !== c || s[j - 1] === ' ') continue;
      if (j + 1 < s.length && WORD.test(cpAt(s, j + 1))) continue;
      return j;
    }
    return -1;
  }

  function cut(s, sep) {
    const i = s.indexOf(sep);
    return i < 0 ? [s, '', false] : [s.slice(0, i), s.slice(i + sep.length), true];
  }

  // token reads what is between < and >: a link, a user, a channel or a
  // special mention.
  function token(t, st) {
    let [target, label, hasLabel] = cut(t, '|');
    label = entities(label);
    const trim = (p, x) => (x.startsWith(p) ? x.slice(p.length) : x);
    if (target.startsWith('@')) return span(st, hasLabel && label !== '' ? '@' + trim('@', label) : target);
    if (target.startsWith('#')) return span(st, hasLabel && label !== '' ? '#' + trim('#', label) : target);
    if (target.startsWith('!')) return span(st, hasLabel && label !== '' ? label : '@' + cut(target.slice(1), '^')[0]);
    target = entities(target);
    if (!safeURL(target)) return span(st, hasLabel ? label : target);
    const sp = span(st, label);
    if (!hasLabel || label === '') sp.text = target.startsWith('mailto:') ? target.slice('mailto:'.length) : target;
    sp.url = target;
    return sp;
  }

  // parseInline parses one line's inline formatting under st.
  function parseInline(out, s, st, format) {
    let text = '';
    const flush = () => {
      if (text !== '') appendSpan(out, span(st, entities(text)));
      text = '';
    };
    for (let i = 0; i < s.length;) {
      const c = s[i];
      if (c === '<') {
        const j = s.indexOf('>', i + 1) - (i + 1);
        if (j > 0 && !/[<\n]/.test(s.slice(i + 1, i + 1 + j))) {
          flush();
          appendSpan(out, token(s.slice(i + 1, i + 1 + j), st));
          i += j + 2;
          continue;
        }
      } else if (format && c === '`') {
        const j = s.indexOf('`', i + 1) - (i + 1);
        if (j > 0) {
          flush();
          const sp = span(st, entities(s.slice(i + 1, i + 1 + j)));
          sp.code = true;
          appendSpan(out, sp);
          i += j + 2;
          continue;
        }
      } else if (format && (c === '*' || c === '_' || c === '~')) {
        const j = closing(s, i);
        if (j > 0) {
          flush();
          const inner = Object.assign({}, st);
          if (c === '*') inner.bold = true;
          else if (c === '_') inner.italic = true;
          else inner.strike = true;
          parseInline(out, s.slice(i + 1, j), inner, format);
          i = j + 1;
          continue;
        }
      }
      text += c;
      i++;
    }
    flush();
  }

  const QUOTE_MARKS = ['&gt; ', '> ', '&gt;', '>'];

  // parseLines parses text outside code blocks line by line, for quotes.
  function parseLines(out, s, format) {
    for (let line of s.split(/(?<=\n)/)) {
      if (line === '') continue;
      const st = { bold: false, italic: false, strike: false, quote: false };
      if (format) {
        const mark = QUOTE_MARKS.find((q) => line.startsWith(q));
        if (mark !== undefined) {
          line = line.slice(mark.length);
          st.quote = true;
        }
      }
      parseInline(out, line, st, format);
    }
  }

  // parse splits Slack mrkdwn into spans ({text, bold, italic, strike,
  // code, pre, quote, url}); without format only the angle-bracket tokens
  // and entities are read (a payload's "mrkdwn": false). It never fails.
  function parse(s, format = true) {
    s = typeof s === 'string' ? s : '';
    const out = [];
    const parts = s.split('```');
    const fences = parts.length - 1;
    parts.forEach((part, i) => {
      if (i % 2 === 1 && format && i < fences) {
        const sp = span({}, entities(part.startsWith('\n') ? part.slice(1) : part));
        sp.pre = true;
        appendSpan(out, sp);
        return;
      }
      if (i % 2 === 1) part = '```' + part;
      else if (i > 0 && part.startsWith('\n')) part = part.slice(1);
      parseLines(out, part, format);
    });
    return out;
  }

  // ---- building nodes ----

  // el builds an element; attribute names are always literals from the
  // calling file, values are set as attribute values (never parsed as
  // markup). app.js and integrations.js use this one (ParleyRich.el).
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, String(v));
    }
    for (const k of kids) if (k !== null && k !== undefined && k !== false) e.append(k);
    return e;
  }

  // link is an anchor to url that opens apart from the client and tells
  // the site nothing of where it came from; text alone when url is not
  // one a reader may open.
  function link(url, ...kids) {
    if (!safeURL(url)) return el('span', null, ...kids);
    return el('a', { href: url, target: '_blank', rel: 'noopener noreferrer', title: url }, ...kids);
  }

  const str = (v) => (typeof v === 'string' ? v : '');
  const list = (v, max) => (Array.isArray(v) ? v.slice(0, max) : []);
  const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});

  // inline is one span's node: its text wrapped in its formatting.
  function inline(sp, text) {
    let n = document.createTextNode(text);
    if (sp.code) n = el('code', null, n);
    if (sp.strike) n = el('s', null, n);
    if (sp.italic) n = el('em', null, n);
    if (sp.bold) n = el('strong', null, n);
    if (sp.url) n = link(sp.url, n);
    return n;
  }

  const BULLET = /^(\s*)([•◦▪‣\-*])\s+/;
  const NUMBER = /^(\s*)(\d{1,9})[.)]\s+/;

  // mrkdwnNode renders mrkdwn text: lines, quotes as block quotes, "• ",
  // "- " and "1. " lines as lists, code blocks as preformatted blocks.
  function mrkdwnNode(s, format = true, cls = 'rich-text') {
    const lines = []; // {pre} or {parts: [{sp, text}], quote}
    let cur = { parts: [], quote: false };
    const endLine = () => {
      lines.push(cur);
      cur = { parts: [], quote: false };
    };
    for (const sp of parse(s, format)) {
      if (sp.pre) {
        if (cur.parts.length) endLine();
        lines.push({ pre: sp.text.replace(/\n$/, '') });
        continue;
      }
      sp.text.split('\n').forEach((seg, k) => {
        if (k > 0) endLine();
        if (seg === '') return;
        if (!cur.parts.length) cur.quote = sp.quote;
        cur.parts.push({ sp, text: seg });
      });
    }
    if (cur.parts.length) lines.push(cur);
    while (lines.length && lines[lines.length - 1].parts && !lines[lines.length - 1].parts.length) lines.pop();

    const box = el('div', { class: cls });
    let group = null; // the open blockquote or list: {kind, node}
    const into = (kind, make) => {
      if (!group || group.kind !== kind) {
        group = { kind, node: make() };
        box.append(group.node);
      }
      return group.node;
    };
    for (const line of lines) {
      if (line.pre !== undefined) {
        group = null;
        box.append(el('pre', { class: 'rich-pre' }, el('code', null, line.pre)));
        continue;
      }
      const parts = line.parts.slice();
      // A list item: the marker, in plain text at the line's start.
      let item = null;
      const first = parts[0];
      if (first && !first.sp.url && !first.sp.code) {
        const m = first.text.match(BULLET) || first.text.match(NUMBER);
        if (m) {
          item = { kind: m[2].match(/^\d/) ? 'ol' : 'ul', start: Number(m[2]) };
          parts[0] = { sp: first.sp, text: first.text.slice(m[0].length) };
        }
      }
      const nodes = parts.filter((p) => p.text !== '').map((p) => inline(p.sp, p.text));
      let parent = box;
      if (line.quote) {
        parent = into('quote', () => el('blockquote', { class: 'rich-quote' }));
        if (item) {
          parent.append(el('div', { class: 'rich-line' }, item.kind === 'ol' ? item.start + '. ' : '• ', ...nodes));
          continue;
        }
      } else if (item) {
        const kind = item.kind;
        parent = into(kind, () => el(kind, { class: 'rich-list', start: kind === 'ol' && item.start !== 1 ? item.start : null }));
        parent.append(el('li', null, ...nodes));
        continue;
      } else {
        group = null;
      }
      parent.append(el('div', { class: 'rich-line' }, ...nodes));
    }
    return box;
  }

  // ---- attachments and blocks ----

  const NAMED_COLORS = new Set(['good', 'warning', 'danger']);
  const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

  // textObject renders a Slack text object ({type, text}): mrkdwn
  // formatted, plain_text as it is.
  function textObject(t, cls) {
    const o = obj(t);
    if (o.type === 'mrkdwn') return mrkdwnNode(str(o.text), true, cls);
    return el('div', { class: cls, text: str(o.text) });
  }

  // element renders an element of a context block or a section's
  // accessory: a text object, an image (its alt text, linked), a button
  // (its label linked to its URL).
  function element(e) {
    const o = obj(e);
    switch (o.type) {
      case 'mrkdwn':
      case 'plain_text':
        return textObject({ type: o.type, text: str(o.text) }, 'rich-elem');
      case 'image': {
        const alt = str(o.alt_text) || 'image';
        return safeURL(o.image_url) ? link(o.image_url, '🖼 ' + alt) : el('span', { text: alt });
      }
      case 'button': {
        const label = typeof o.text === 'string' ? o.text : str(obj(o.text).text);
        return link(str(o.url), el('span', { class: 'rich-button', text: label || str(o.url) }));
      }
      default:
        return null;
    }
  }

  function fieldsNode(fields, make) {
    const box = el('div', { class: 'rich-fields' });
    for (const f of fields) {
      const n = make(f);
      if (n) box.append(n);
    }
    return box.childNodes.length ? box : null;
  }

  // blocksNode renders Slack's layout blocks: section (text, fields as
  // two columns, accessory), header, context, divider, image (a link).
  // Others are skipped.
  function blocksNode(blocks) {
    const box = el('div', { class: 'rich-blocks' });
    for (const raw of list(blocks, 100)) {
      const b = obj(raw);
      switch (b.type) {
        case 'section': {
          const sec = el('div', { class: 'blk-section' });
          if (b.text) sec.append(textObject(b.text, 'rich-text'));
          const fs = fieldsNode(list(b.fields, 20), (f) => el('div', { class: 'rich-field short' }, textObject(f, 'rich-field-value')));
          if (fs) sec.append(fs);
          if (b.accessory) {
            const a = element(b.accessory);
            if (a) sec.append(el('div', { class: 'blk-accessory' }, a));
          }
          box.append(sec);
          break;
        }
        case 'header':
          box.append(el('div', { class: 'blk-header', role: 'heading', 'aria-level': '3', text: str(obj(b.text).text) }));
          break;
        case 'context': {
          const ctx = el('div', { class: 'blk-context' });
          for (const e of list(b.elements, 10)) {
            const n = element(e);
            if (n) ctx.append(n);
          }
          box.append(ctx);
          break;
        }
        case 'divider':
          box.append(el('hr', { class: 'blk-divider' }));
          break;
        case 'image': {
          const label = str(obj(b.title).text) || str(b.alt_text) || 'image';
          if (safeURL(b.image_url)) box.append(el('div', { class: 'blk-image' }, link(b.image_url, '🖼 ' + label)));
          break;
        }
        default:
          break;
      }
    }
    return box.childNodes.length ? box : null;
  }

  // tsNode is an attachment's ts (seconds since the epoch) as a time.
  function tsNode(ts) {
    const n = typeof ts === 'number' ? ts : typeof ts === 'string' && ts.trim() !== '' ? Number(ts) : NaN;
    if (!Number.isFinite(n) || n <= 0 || n >= 1e11) return null;
    const d = new Date(Math.floor(n) * 1000);
    return el('time', { datetime: d.toISOString(), text: d.toLocaleString() });
  }

  // attachmentNode renders an attachment as a card with its color as a
  // side bar: pretext above it; author and title (linked), text, fields
  // (short ones two to a row), image (a link), blocks, footer and time.
  function attachmentNode(raw) {
    const a = obj(raw);
    const wrap = el('div', { class: 'attachment' });
    if (str(a.pretext)) wrap.append(mrkdwnNode(a.pretext, true, 'att-pretext'));
    const card = el('div', { class: 'att-card' });
    const color = str(a.color).trim();
    if (NAMED_COLORS.has(color)) {
      card.classList.add('att-' + color);
      card.dataset.color = color;
    } else if (HEX_COLOR.test(color)) {
      // A checked #RGB or #RRGGBB, set through the style object (CSSOM,
      // which the page's policy allows), never as markup.
      card.style.borderLeftColor = color;
      card.dataset.color = color.toLowerCase();
    }
    let parts = 0;
    const add = (n) => {
      if (!n) return;
      card.append(n);
      parts++;
    };
    if (str(a.author_name)) add(el('div', { class: 'att-author' }, link(str(a.author_link), a.author_name)));
    if (str(a.title)) {
      const title = parse(a.title).map((sp) => sp.text).join('');
      add(el('div', { class: 'att-title' }, link(str(a.title_link), title)));
    }
    if (str(a.text)) add(mrkdwnNode(a.text, true, 'att-text'));
    add(fieldsNode(list(a.fields, 50), (raw) => {
      const f = obj(raw);
      if (!str(f.title) && !str(f.value)) return null;
      return el('div', { class: 'rich-field' + (f.short === true ? ' short' : '') },
        str(f.title) ? el('div', { class: 'rich-field-title', text: parse(f.title).map((sp) => sp.text).join('') }) : null,
        str(f.value) ? mrkdwnNode(f.value, true, 'rich-field-value') : null);
    }));
    if (safeURL(a.image_url)) add(el('div', { class: 'att-image' }, link(a.image_url, '🖼 image')));
    add(blocksNode(a.blocks));
    const ts = tsNode(a.ts);
    if (str(a.footer) || ts) {
      add(el('div', { class: 'att-footer' },
        str(a.footer) ? mrkdwnNode(a.footer, true, 'att-footer-text') : null,
        str(a.footer) && ts ? el('span', { class: 'att-sep', text: ' · ' }) : null,
        ts));
    }
    if (!parts && str(a.fallback)) add(el('div', { class: 'att-text', text: a.fallback }));
    if (parts) wrap.append(card);
    return wrap.childNodes.length ? wrap : null;
  }

  // ---- the message ----

  // A few common icon_emoji shortcodes, for the app's name; any other is
  // left out (and an icon_url is never loaded, see the file's comment).
  const EMOJI = {
    robot_face: '🤖', robot: '🤖', rocket: '🚀', ship: '🚢', package: '📦', bell: '🔔', tada: '🎉',
    white_check_mark: '✅', heavy_check_mark: '✔️', x: '❌', warning: '⚠️', rotating_light: '🚨',
    fire: '🔥', bug: '🐛', memo: '📝', gear: '⚙️', wrench: '🔧', hammer: '🔨', hammer_and_wrench: '🛠️',
    construction: '🚧', lock: '🔒', key: '🔑', mega: '📣', loudspeaker: '📢', speech_balloon: '💬',
    star: '⭐', sparkles: '✨', zap: '⚡', boom: '💥', eyes: '👀', '+1': '👍', thumbsup: '👍',
    '-1': '👎', thumbsdown: '👎', heart: '❤️', green_heart: '💚', smile: '😄', ghost: '👻',
    calendar: '📅', email: '📧', envelope: '✉️', inbox_tray: '📥', outbox_tray: '📤', link: '🔗',
    pushpin: '📌', bookmark: '🔖', information_source: 'ℹ️', question: '❓', exclamation: '❗',
    no_entry: '⛔', stop_sign: '🛑', checkered_flag: '🏁', trophy: '🏆', chart_with_upwards_trend: '📈',
    chart_with_downwards_trend: '📉', bar_chart: '📊', clipboard: '📋', hourglass: '⌛', alarm_clock: '⏰',
    bulb: '💡', books: '📚', computer: '💻', desktop_computer: '🖥️', globe_with_meridians: '🌐',
    satellite: '📡', electric_plug: '🔌', floppy_disk: '💾', test_tube: '🧪', whale: '🐳', penguin: '🐧',
    snake: '🐍', crab: '🦀', owl: '🦉', cat: '🐱', dog: '🐶', coffee: '☕', recycle: '♻️',
    arrows_counterclockwise: '🔄', red_circle: '🔴', large_green_circle: '🟢', large_blue_circle: '🔵',
    large_yellow_circle: '🟡', new: '🆕', sos: '🆘', shield: '🛡️', lipstick: '💄', art: '🎨',
  };

  // iconOf is the emoji of an app_icon shortcode (":rocket:"), or ''.
  function iconOf(icon) {
    const m = /^:([a-z0-9_+-]{1,40}):$/.exec(str(icon));
    return m && Object.hasOwn(EMOJI, m[1]) ? EMOJI[m[1]] : '';
  }

  // nameNode is an app message's author: the app's icon (a known emoji
  // shortcode only), its name and an APP badge; hostName is the node that
  // hosts the hook and signed the message.
  function nameNode(m, hostName, cls) {
    const icon = iconOf(m.app_icon);
    return el('span', { class: cls + ' app', title: `${m.app}: an app, posted through ${hostName}'s node (${m.from})` },
      icon ? el('span', { class: 'app-icon', 'aria-hidden': 'true', text: icon }) : null,
      el('span', { class: 'app-name', text: m.app }),
      el('span', { class: 'app-badge', text: 'APP' }));
  }

  // bodyNode renders an app message's rich payload: its text (mrkdwn
  // unless the payload turns that off), then each attachment, then the
  // blocks. null when the message has no rich payload, or one that shows
  // nothing: the caller shows the plain text then.
  function bodyNode(m) {
    const p = obj(m.rich);
    if (!m.rich || typeof m.rich !== 'object') return null;
    const box = el('div', { class: 'text rich' });
    if (str(p.text).trim()) box.append(mrkdwnNode(p.text, p.mrkdwn !== false));
    for (const a of list(p.attachments, 100)) {
      const n = attachmentNode(a);
      if (n) box.append(n);
    }
    const bs = blocksNode(p.blocks);
    if (bs) box.append(bs);
    return box.childNodes.length ? box : null;
  }

  globalThis.ParleyRich = { parse, safeURL, iconOf, nameNode, bodyNode, mrkdwnNode, el };
})();
