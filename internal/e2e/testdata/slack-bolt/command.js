// A slash command served by Slack's own framework, Bolt, the way a team
// writes one for Slack. Usage: node command.js TOKEN
// Listens on 127.0.0.1 (a free port) and prints {"port": N}; for each
// /deploy it prints {"command": {...the fields Bolt read...}}, answers
// with ack() (ephemeral, "Deploying TEXT") unless the verification token
// differs, then posts an in_channel answer through respond() (the
// response_url) and prints {"respond": "ok"} or the error. Exits when its
// standard input closes.
const { App, LogLevel } = require('@slack/bolt');

async function main() {
  const token = process.argv[2];
  const app = new App({
    // No Slack workspace: the authorization is given, so Bolt never asks
    // Slack's API (auth.test), and any API call it tried would go to a
    // closed loopback port, never off this machine.
    authorize: async () => ({ botToken: 'xoxb-parley-test', botId: 'B0PARLEY', botUserId: 'U0PARLEY' }),
    clientOptions: { slackApiUrl: 'http://127.0.0.1:9/api/' },
    signingSecret: 'unused',
    signatureVerification: false, // Parley sends Slack's verification token, not request signatures
    logLevel: process.env.BOLT_DEBUG ? LogLevel.DEBUG : LogLevel.ERROR,
  });
  app.command('/deploy', async ({ command, ack, respond }) => {
    console.log(JSON.stringify({ command }));
    if (command.token !== token) {
      await ack({ text: 'wrong verification token' });
      return;
    }
    await ack({ text: `Deploying *${command.text}* for <@${command.user_id}>` });
    try {
      await respond({ response_type: 'in_channel', text: `${command.text} is live (deployed by ${command.user_name})` });
      console.log(JSON.stringify({ respond: 'ok' }));
    } catch (e) {
      console.log(JSON.stringify({ respond: 'error', message: e.message }));
    }
  });
  const server = await app.start({ port: 0, host: '127.0.0.1' });
  console.log(JSON.stringify({ port: server.address().port }));
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
