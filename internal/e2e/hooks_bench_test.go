package e2e

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/api"
)

// BenchmarkWebhookLatency: one Slack-format POST at a time into alice's
// hook, timed from the POST to bob's event stream announcing the app
// message (stored at bob): what a CI notification costs on loopback.
func BenchmarkWebhookLatency(b *testing.B) { benchWebhook(b, 1) }

// BenchmarkWebhookThroughput: 8 callers POST as fast as they are
// answered into one hook (its rate lifted); msgs/s counts POSTs until the
// last is at bob, none lost (a missing one fails the run).
func BenchmarkWebhookThroughput(b *testing.B) { benchWebhook(b, 8) }

func benchWebhook(b *testing.B, callers int) {
	alice, bob := hookPair(b, "hooks_rate = 1000000.0\nhooks_burst = 1000000\nhooks_queue = 100000\nroom_rate = 1000000.0\nroom_burst = 1000000\n")
	var h api.Webhook
	alice.RunJSON(&h, "webhook", "create", "#dev", "--name", "bench", "--json")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	arrived := map[string]chan struct{}{}
	get := func(text string) chan struct{} {
		c, ok := arrived[text]
		if !ok {
			c = make(chan struct{})
			arrived[text] = c
		}
		return c
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = bob.Client().Events(ctx, func(e api.Event) error {
			if e.Type == "message" && e.Message != nil && e.Message.App == "bench" {
				mu.Lock()
				first, _, _ := strings.Cut(e.Message.Text, "\n") // the attachment's lines follow
				c := get(first)
				select {
				case <-c:
				default:
					close(c)
				}
				mu.Unlock()
			}
			return nil
		})
	})
	// The stream says nothing until an event comes: post probes until one
	// is seen.
	for i := 0; ; i++ {
		text := "probe " + strconv.Itoa(i)
		mu.Lock()
		c := get(text)
		mu.Unlock()
		if code, _, _ := hookPost(b, h.URL, "application/json", `{"text":"`+text+`"}`); code != http.StatusOK {
			b.Fatalf("probe: %d", code)
		}
		select {
		case <-c:
		case <-time.After(2 * time.Second):
			continue
		}
		break
	}
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	start := time.Now()
	var cw, watchers sync.WaitGroup
	for c := range callers {
		cw.Go(func() {
			for i := c; i < b.N; i += callers {
				text := "m" + strconv.Itoa(i)
				mu.Lock()
				ch := get(text)
				mu.Unlock()
				t0 := time.Now()
				if code, _, _ := hookPost(b, h.URL, "application/json", `{"text":"`+text+`","attachments":[{"title":"t","fields":[{"title":"a","value":"b"}]}]}`); code != http.StatusOK {
					b.Errorf("POST: %d", code)
					return
				}
				// A watcher times the arrival, so callers keep posting.
				watchers.Go(func() {
					select {
					case <-ch:
						lat[i] = time.Since(t0)
					case <-time.After(time.Minute):
						b.Errorf("%s never reached bob", text)
					}
				})
				if callers == 1 {
					<-ch
				}
			}
		})
	}
	cw.Wait()
	watchers.Wait()
	took := time.Since(start)
	b.StopTimer()
	cancel()
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/took.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
