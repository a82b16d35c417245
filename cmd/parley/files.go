package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/internal/api"
)

func (c *cli) shareCmd() *cobra.Command {
	var text string
	cmd := clientCommand(c, clientCmd[api.Message]{
		use:   "share PATH... TO [--text CAPTION]",
		short: "Share files in a room (#name) or with a peer (peer ID or @nick) as one message; prints its ID",
		args: func(_ *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageError{errors.New("want one or more files and where to share them (#room, peer ID or @nick)")}
			}
			return nil
		},
		before: func(args []string) error {
			for _, p := range args[:len(args)-1] {
				fi, err := os.Stat(p)
				switch {
				case err != nil:
					return usageError{fmt.Errorf("%s: %w", p, errors.Unwrap(err))}
				case !fi.Mode().IsRegular():
					return usageError{fmt.Errorf("%s: not a regular file", p)}
				}
			}
			return nil
		},
		json: true,
		call: func(cl *api.Client, args []string) (api.Message, error) {
			paths := args[:len(args)-1]
			id, err := cl.Identity(c.ctx)
			if err != nil {
				return api.Message{}, err
			}
			if id.MaxFileSize == 0 {
				return api.Message{}, runtimeError{errors.New("file sharing is off on this node")}
			}
			for _, p := range paths {
				if fi, err := os.Stat(p); err == nil && fi.Size() > id.MaxFileSize {
					return api.Message{}, usageError{fmt.Errorf("%s is %s, over the limit of %s (max_file_size)", p, bytesText(fi.Size()), bytesText(id.MaxFileSize))}
				}
			}
			return cl.Share(c.ctx, args[len(args)-1], paths, text)
		},
		print: func(_ *api.Client, m api.Message) error {
			_, _ = fmt.Fprintln(c.stdout, m.ID)
			return nil
		},
	})
	cmd.Flags().StringVar(&text, "text", "", "a caption sent with the files")
	return cmd
}

func (c *cli) getCmd() *cobra.Command {
	var out, timeout string
	cmd := clientCommand(c, clientCmd[api.FetchResponse]{
		use:   "get MESSAGE_ID [--out DIR] [--timeout DURATION]",
		short: "Fetch every file of a message from the members who have it, verify and save them; prints each path",
		args:  exactArgs(1, "a message ID"),
		before: func([]string) error {
			if out != "" {
				abs, err := filepath.Abs(out)
				if err != nil {
					return usageError{err}
				}
				out = abs
			}
			return nil
		},
		json: true,
		call: func(cl *api.Client, args []string) (api.FetchResponse, error) {
			var bars sync.WaitGroup
			if isTerminal(c.stderr) {
				ctx, stop := context.WithCancel(c.ctx)
				defer func() { stop(); bars.Wait() }()
				bars.Add(1)
				go func() {
					defer bars.Done()
					c.progress(ctx, cl, args[0])
				}()
			}
			r, err := cl.Fetch(c.ctx, args[0], out, timeout)
			var ae *api.Error
			if errors.As(err, &ae) && ae.Status == http.StatusRequestEntityTooLarge {
				// A file over this node's limit is a refusal, not a usage error.
				return r, runtimeError{err}
			}
			return r, err
		},
		print: func(_ *api.Client, r api.FetchResponse) error {
			for _, f := range r.Files {
				_, _ = fmt.Fprintln(c.stdout, f.Path)
			}
			return nil
		},
	})
	cmd.Flags().StringVar(&out, "out", "", "directory to save into (default: the node's download directory)")
	cmd.Flags().StringVar(&timeout, "timeout", "2m", "give up when no member online has the files for this long")
	return cmd
}

// progress draws a progress bar on standard error for the files of
// message id until ctx ends.
func (c *cli) progress(ctx context.Context, cl *api.Client, id string) {
	m, err := cl.Message(ctx, id)
	if err != nil {
		return
	}
	names := map[string]string{}
	for _, f := range m.Files {
		names[f.Hash] = f.Name
	}
	defer func() { _, _ = fmt.Fprint(c.stderr, "\r\033[K") }()
	_ = cl.Events(ctx, func(e api.Event) error {
		name, ok := names[e.Hash]
		if !ok || e.Have == nil || e.Size == nil {
			return nil
		}
		const width = 30
		frac := 1.0
		if *e.Size > 0 {
			frac = float64(*e.Have) / float64(*e.Size)
		}
		full := int(frac * width)
		_, _ = fmt.Fprintf(c.stderr, "\r\033[K%s [%s%s] %3.0f%% %s/%s from %d", name, strings.Repeat("#", full), strings.Repeat("-", width-full),
			100*frac, bytesText(*e.Have), bytesText(*e.Size), *e.Sources)
		return nil
	})
}

// bytesText is n in the largest unit that keeps it at or above 1.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
