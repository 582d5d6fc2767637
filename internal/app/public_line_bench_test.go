package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// BenchmarkPublicLineCalls measures the calls one replica's voice
// webhooks handle a second on the CIP's public line: each call is the
// three signed webhooks of a caller queued and taken (the call, one wait,
// leaving the queue bridged), posted by concurrent callers (GOMAXPROCS ×
// 4). Two operators are in position and never pick up, so that each wait
// also looks for an operator free. The whole app runs on one embedded
// etcd member without fsync, the simulator in process.
//
//	go test ./internal/app -run '^$' -bench PublicLineCalls -benchtime 2000x
func BenchmarkPublicLineCalls(b *testing.B) {
	a, _, id := startCIPWith(b, twiliosim.Profile{})
	api(b, a, "PUT", "/api/v1/cip/message", map[string]string{"text": "Évitez les berges."}, nil)
	api(b, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, nil)
	mark(b, a, id, "cip-01", tocsin.OperatorInPosition)
	mark(b, a, id, "cip-02", tocsin.OperatorInPosition)
	var seq atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sid := fmt.Sprintf("CAbench%026d", seq.Add(1))
			call := url.Values{"CallSid": {sid}, "From": {"+33639985555"}, "To": {publicNumber}, "CallStatus": {"ringing"}}
			if doc := postWebhook(b, client, a, "/twilio/voice/public", call); !strings.Contains(doc, "<Enqueue") {
				b.Fatalf("caller not queued:\n%s", doc)
			}
			call.Set("QueuePosition", "1")
			postWebhook(b, client, a, "/twilio/voice/public/wait?a="+id, call)
			call.Set("QueueResult", "bridged")
			call.Set("QueueTime", "4")
			postWebhook(b, client, a, "/twilio/voice/public/left?a="+id, call)
		}
	})
	took := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/took.Seconds(), "calls/s")
	b.ReportMetric(3*float64(b.N)/took.Seconds(), "webhooks/s")
	var p cipPanelView
	api(b, a, "GET", "/api/v1/activations/"+id+"/cip", nil, &p)
	if p.Calls.Answered != b.N {
		b.Errorf("calls answered %d, want %d", p.Calls.Answered, b.N)
	}
}

// postWebhook posts a webhook signed as Twilio signs it, and returns the
// answer's body.
func postWebhook(b testing.TB, client *http.Client, a *app.App, path string, form url.Values) string {
	sig := twiliosim.Signature(a.Simulator().AuthToken(), a.URL()+path, form)
	req, _ := http.NewRequest("POST", a.URL()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	resp, err := client.Do(req)
	if err != nil {
		b.Error(err)
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Errorf("%s: status %d %s", path, resp.StatusCode, body)
	}
	return string(body)
}
