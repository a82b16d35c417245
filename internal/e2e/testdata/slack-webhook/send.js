// Sends Slack payloads to a Parley hook URL with Slack's own client,
// @slack/webhook's IncomingWebhook. Usage: node send.js URL
// Prints one JSON line per send: {"ok": true, "text": "ok"} or the error.
const { IncomingWebhook } = require('@slack/webhook');

async function main() {
  const url = process.argv[2];
  const webhook = new IncomingWebhook(url, { username: 'deploy-bot', icon_emoji: ':rocket:' });
  const sends = [
    'plain *hello* from @slack/webhook',
    {
      text: 'Deploy <https://ci.example/d/9|#9> finished',
      attachments: [{ color: 'good', title: 'Changes', title_link: 'https://ci.example/d/9/changes', fields: [{ title: 'Env', value: 'prod', short: true }] }],
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '*Deploy* finished' } },
        { type: 'divider' },
      ],
    },
  ];
  for (const s of sends) {
    try {
      const res = await webhook.send(s);
      console.log(JSON.stringify({ ok: true, text: res.text }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, code: e.code, message: e.message }));
    }
  }
  try {
    await new IncomingWebhook(url.replace(/\/hooks\/.*/, '/hooks/not-a-hook')).send('x');
    console.log(JSON.stringify({ ok: true }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, code: e.code, status: e.statusCode, body: e.body }));
  }
}

main();
