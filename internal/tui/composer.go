package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
)

// maxComposer is how many lines the composer grows to.
const maxComposer = 5

// newComposer returns the text area where messages are written.
func newComposer() textarea.Model {
	ta := textarea.New()
	ta.ShowLineNumbers = false
	ta.Prompt = "> "
	ta.CharLimit = 60000
	ta.KeyMap.InsertNewline = key.NewBinding(key.WithKeys("alt+enter", "ctrl+j"))
	ta.SetHeight(1)
	ta.Focus()
	return ta
}

func (m *Model) composerHeight() int { return min(max(m.input.LineCount(), 1), maxComposer) }

// growComposer makes room for n more lines before the textarea adds them:
// the textarea scrolls to its cursor for its current height, so growing
// only afterwards would hide the first lines.
func (m *Model) growComposer(n int) {
	m.input.SetHeight(min(max(m.input.LineCount()+n, 1), maxComposer))
}

// layout sizes the composer to the window and its text.
func (m *Model) layout() {
	m.input.SetWidth(max(m.width-2, 10))
	m.input.SetHeight(m.composerHeight())
}

// edit passes a key or a paste to the composer and sizes it to the text.
func (m *Model) edit(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	m.layout()
	return cmd
}

// submit takes the composer's text (Enter): a slash command runs, any
// other text goes to the open conversation.
func (m *Model) submit() tea.Cmd {
	text := strings.TrimSpace(m.input.Value())
	if text == "" {
		return nil
	}
	m.input.Reset()
	m.layout()
	if !strings.HasPrefix(text, "/delete ") {
		m.confirmDelete = "" // a delete asked about is confirmed only by Enter on it again
	}
	if strings.HasPrefix(text, "/") {
		cmd := m.command(text)
		m.syncRefs() // after the command: /edit N may fill the composer
		return cmd
	}
	m.refs = nil
	if m.thread != nil {
		return m.sendInThread(text)
	}
	return m.send(m.cur, text)
}

func (m *Model) send(conv, text string) tea.Cmd {
	if conv == "" {
		m.setStatus("no conversation open: /join #room or /msg @nick", true)
		return nil
	}
	if t, ok := m.tl[conv]; ok {
		t.scroll = 0
	}
	return m.ask(func(ctx context.Context) (tea.Msg, error) {
		_, err := m.be.Send(ctx, withOf(conv), text)
		return nil, err
	})
}
