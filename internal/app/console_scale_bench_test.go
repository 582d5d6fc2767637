package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// BenchmarkConsoleLarge opens the console on an activation of 35,000
// officials (CONSOLE_N to change it) who are all on the « à appeler »
// list at once — the worst case for its lists — and measures what a duty
// officer waits for: the activation page, its « À appeler » view, the
// calling view and the API's view, each read whole (time and size); and
// how long a confirmation takes to reach an open page as a row and as
// the recomputed counters; and what 100 more open consoles cost in CPU
// while ten officials a second are confirmed.
//
//	go test ./internal/app -run '^$' -bench ConsoleLarge -benchtime 1x
func BenchmarkConsoleLarge(b *testing.B) {
	n := 35000
	if s := os.Getenv("CONSOLE_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("CONSOLE_N: %v", err)
		}
	}
	a, id := mustActivateAllToCall(b, n, nil)
	br := loginAs(b, a, "permanence", tocsin.RoleOfficer)

	page := func(path, metric string) {
		start := time.Now()
		var st int
		var body string
		if strings.HasPrefix(path, "/api/") {
			st, body = rawRequest(b, a, "GET", path, adminToken, "", "")
		} else {
			st, body = br.get(path)
		}
		took := time.Since(start)
		if st != http.StatusOK {
			b.Fatalf("%s: status %d", path, st)
		}
		b.ReportMetric(float64(took.Milliseconds()), metric+"-ms")
		b.ReportMetric(float64(len(body))/1024, metric+"-KiB")
	}
	b.ResetTimer()
	page("/activations/"+id, "page")
	page("/activations/"+id+"?filtre=a-appeler", "to-call")
	page("/activations/"+id+"/appeler", "calling")
	page("/api/v1/activations/"+id, "api")

	h := br.cookieHeader()
	h.Set("Origin", a.URL())
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.URL(), "http")+"/ws?activation="+id, h)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	// The snapshot first: a summary of the whole activation.
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		if bytes.Contains(data, []byte(`"type":"summary"`)) {
			break
		}
	}
	start := time.Now()
	if st := api(b, a, "POST", "/api/v1/activations/"+id+"/recipients/m007/confirm", map[string]string{"how": "téléphone"}, nil); st != http.StatusOK {
		b.Fatalf("confirm: status %d", st)
	}
	var row, counters time.Duration
	for row == 0 || counters == 0 {
		_, data, err := conn.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		switch {
		case row == 0 && bytes.Contains(data, []byte(`"type":"recipient"`)) && bytes.Contains(data, []byte(`"id":"m007"`)):
			row = time.Since(start)
		case counters == 0 && bytes.Contains(data, []byte(`"type":"summary"`)) && bytes.Contains(data, []byte(`"informed":1,`)):
			counters = time.Since(start)
		}
	}
	b.ReportMetric(float64(row.Milliseconds()), "row-ms")
	b.ReportMetric(float64(counters.Milliseconds()), "counters-ms")
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()

	// What open consoles cost: the process's CPU (replica, etcd and the
	// consoles' own reading) while ten officials a second are confirmed,
	// with this console open, then with 100 more.
	next := 100
	cores := func(consoles int) float64 {
		var conns []*websocket.Conn
		for range consoles {
			c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.URL(), "http")+"/ws?activation="+id, h)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := c.ReadMessage(); err != nil { // registered: its snapshot came
				b.Fatal(err)
			}
			conns = append(conns, c)
			go func() {
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						return
					}
				}
			}()
		}
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		before, start := cpuTime(), time.Now()
		for range 50 {
			if st := api(b, a, "POST", fmt.Sprintf("/api/v1/activations/%s/recipients/m%03d/confirm", id, next), map[string]string{"how": "téléphone"}, nil); st != http.StatusOK {
				b.Fatalf("confirm: status %d", st)
			}
			next++
			time.Sleep(100 * time.Millisecond)
		}
		return (cpuTime() - before).Seconds() / time.Since(start).Seconds()
	}
	b.ReportMetric(cores(0), "cores-1-console")
	b.ReportMetric(cores(100), "cores-101-consoles")
}
