// Package hooks connects a team's tools to Parley: incoming webhooks in
// Slack's format and the native GitHub, GitLab and Jira receivers, which
// turn a POST into a message posted by the node that hosts the hook;
// outgoing webhooks signed per the Standard Webhooks specification; and
// slash commands.
package hooks
