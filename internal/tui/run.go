package tui

import (
	"context"
	"errors"
	"io"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/parley-chat/parley/internal/api"
)

// Run shows the client until the user quits (Ctrl+C or /quit) or ctx
// ends. in and out are the terminal.
func Run(ctx context.Context, be Backend, opts Options, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := New(ctx, be, opts)
	popts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out)}
	if !opts.Color {
		popts = append(popts, tea.WithColorProfile(colorprofile.NoTTY))
	}
	p := tea.NewProgram(m, popts...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Follow the node's events; reconnect if the stream drops.
		for ctx.Err() == nil {
			err := be.Follow(ctx, func() { p.Send(resyncMsg{}) }, func(e api.Event) error {
				p.Send(EventMsg(e))
				return nil
			})
			if ctx.Err() != nil {
				return
			}
			p.Send(EventsDone(err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	_, err := p.Run()
	cancel()
	<-done
	if errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
