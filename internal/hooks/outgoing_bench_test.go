package hooks

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkOutgoingLatency measures one outgoing delivery on loopback:
// from Offer (which writes the delivery to disk) to the receiver holding
// the POST with its Standard Webhooks signature checked. One message at a
// time; p50 and p99 are reported beside ns/op.
func BenchmarkOutgoingLatency(b *testing.B) {
	secret, _ := NewSecret()
	key, _ := ParseSecret(secret)
	got := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = Verify(key, r.Header, body, time.Now(), 0)
		}
		got <- err
	}))
	defer srv.Close()
	hook := OutgoingHook{Name: "bench", Conversation: "room:dev", URL: srv.URL, Secret: secret}
	d, err := NewDispatcher(DispatcherConfig{Dir: b.TempDir(), Lookup: newHookTable(hook).lookup})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(b.Context()) }()
	defer func() {
		_ = d.Close()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	msg := textMessage("", "deploy prod")
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		msg.ID = "m" + strconv.Itoa(i)
		start := time.Now()
		if _, err := d.Offer(hook, msg); err != nil {
			b.Fatal(err)
		}
		if err := <-got; err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
