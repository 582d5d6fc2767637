package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// BenchmarkLiveFanOut measures how long a change takes to reach 1,000
// websocket clients of one replica: from the API call that confirms an
// official to each client's receipt of that official's new row. The
// clients, the replica and its embedded etcd share the machine.
//
//	go test ./internal/app -run '^$' -bench LiveFanOut -benchtime 1x
func BenchmarkLiveFanOut(b *testing.B) {
	const clients, events = 1000, 30
	a := silentAppN(b, events)
	id := mustActivate(b, a)
	waitFor(b, a, id, 10*time.Second, "every SMS delivered", func(v *view) bool { return v.Summary.Delivered == events })
	br := loginAs(b, a, "permanence", tocsin.RoleOfficer)
	h := br.cookieHeader()
	h.Set("Origin", a.URL())
	u := "ws" + strings.TrimPrefix(a.URL(), "http") + "/ws?activation=" + id

	// arrivals[e][c] is when client c got the row of event e's official.
	arrivals := make([][]time.Time, events)
	for e := range arrivals {
		arrivals[e] = make([]time.Time, clients)
	}
	markers := make([][]byte, events)
	for e := range markers {
		markers[e] = []byte(fmt.Sprintf(`"id":"maire-%d","name"`, e+1))
	}
	var got sync.WaitGroup
	conns := make([]*websocket.Conn, clients)
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	for c := range clients {
		conn, _, err := dialer.Dial(u, h)
		if err != nil {
			b.Fatalf("client %d: %v", c, err)
		}
		conns[c] = conn
	}
	var done sync.WaitGroup
	for c, conn := range conns {
		done.Add(1)
		go func() {
			defer done.Done()
			for {
				_, data, err := conn.ReadMessage()
				if err != nil {
					return
				}
				// Only the confirmation counts: delivery statuses of the
				// first SMS may still come in.
				if !bytes.Contains(data, []byte(`"type":"recipient"`)) || !bytes.Contains(data, []byte(`"status":"informed"`)) {
					continue
				}
				for e := range markers {
					if arrivals[e][c].IsZero() && bytes.Contains(data, markers[e]) {
						arrivals[e][c] = time.Now()
						got.Done()
					}
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // every client registered

	b.ResetTimer()
	starts := make([]time.Time, events)
	for e := range events {
		got.Add(clients)
		starts[e] = time.Now()
		if st := api(b, a, "POST", fmt.Sprintf("/api/v1/activations/%s/recipients/maire-%d/confirm", id, e+1),
			map[string]string{"how": "téléphone"}, nil); st != http.StatusOK {
			b.Fatalf("confirm: status %d", st)
		}
		waited := make(chan struct{})
		go func() { got.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			b.Fatalf("event %d did not reach every client in 10 s", e)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.StopTimer()
	for _, c := range conns {
		c.Close()
	}
	done.Wait()

	var each, all []time.Duration
	for e := range events {
		var worst time.Duration
		for c := range clients {
			d := arrivals[e][c].Sub(starts[e])
			each = append(each, d)
			worst = max(worst, d)
		}
		all = append(all, worst)
	}
	slices.Sort(each)
	slices.Sort(all)
	pct := func(ds []time.Duration, p float64) float64 {
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(each, 0.5), "ms-median")
	b.ReportMetric(pct(each, 0.99), "ms-p99")
	b.ReportMetric(pct(all, 0.5), "ms-all-median")
	b.ReportMetric(pct(all, 0.99), "ms-all-p99")
}

// silentAppN runs the app over n mayors who never answer.
func silentAppN(tb testing.TB, n int) *app.App {
	tb.Helper()
	profile := twiliosim.Profile{Numbers: map[string]twiliosim.Persona{},
		Delivery: twiliosim.Range{Min: 5 * time.Millisecond, Max: 20 * time.Millisecond}}
	for i := 1; i <= n; i++ {
		profile.Numbers[fictionMobile(300+i)] = twiliosim.Persona{Behaviour: twiliosim.Silent}
	}
	a := mustRunApp(tb, app.Config{SimulatorProfile: &profile})
	var officials []tocsin.Official
	for i := 1; i <= n; i++ {
		officials = append(officials, tocsin.Official{ID: fmt.Sprintf("maire-%d", i), Name: fmt.Sprintf("Maire %d", i),
			Role: "maire", Commune: "76217", CommuneName: "Dieppe", Arrondissement: "Dieppe",
			Numbers: []tocsin.Number{{E164: fictionMobile(300 + i), Kind: tocsin.Mobile}}})
	}
	if err := a.Store().ReplaceOfficials(tb.Context(), officials); err != nil {
		tb.Fatal(err)
	}
	return a
}
