package twiliosim

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

func TestMessagesPerSecondLimit(t *testing.T) {
	clock := NewManualClock(time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC))
	srv, api := start(t, Config{Clock: clock, MessagesPerSecond: 2})
	create := func() error {
		_, err := api.CreateMessage(smsParams(mayor))
		return err
	}
	for i := range 2 {
		if err := create(); err != nil {
			t.Fatalf("message %d within the limit: %v", i, err)
		}
	}
	if e := restError(t, create()); e.Status != 429 || e.Code != 20429 {
		t.Errorf("third message in the same second: %d/%d, want 429/20429", e.Status, e.Code)
	}
	clock.Advance(500 * time.Millisecond)
	if err := create(); err != nil {
		t.Errorf("half a second later, one more: %v", err)
	}
	if e := restError(t, create()); e.Code != 20429 {
		t.Errorf("but not two: %v", e)
	}
	// A client paced at the limit never meets it.
	for i := range 20 {
		clock.Advance(500 * time.Millisecond)
		if err := create(); err != nil {
			t.Fatalf("paced message %d: %v", i, err)
		}
	}
	if st := srv.Stats(); st.RateLimited != 2 || st.Messages != 23 {
		t.Errorf("stats %+v", st)
	}
}

func TestCallLimits(t *testing.T) {
	clock := NewManualClock(time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC))
	_, api := start(t, Config{Clock: clock, CallsPerSecond: 1, MaxConcurrentCalls: 2})
	call := func() error {
		_, err := api.CreateCall((&openapi.CreateCallParams{}).SetTo(mayor).SetFrom(testFrom).SetTwiml(gatherTwiML).SetTimeout(10))
		return err
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	if e := restError(t, call()); e.Code != 20429 {
		t.Errorf("second call in the same second: %v, want 20429", e)
	}
	clock.Advance(time.Second)
	if err := call(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if e := restError(t, call()); e.Status != 429 || e.Code != 20429 {
		t.Errorf("third concurrent call: %d/%d, want 429/20429", e.Status, e.Code)
	}
	clock.Advance(10 * time.Second) // the first rings out
	if err := call(); err != nil {
		t.Errorf("after a call ended: %v", err)
	}
}

func TestInjectedFaults(t *testing.T) {
	srv, api := start(t, Config{})
	create := func() error {
		_, err := api.CreateMessage(smsParams(mayor))
		return err
	}
	if err := srv.InjectFault(Fault{Status: 503, Count: 2, Resource: ResourceMessages}); err != nil {
		t.Fatal(err)
	}
	if err := srv.InjectFault(Fault{Status: 429}); err != nil {
		t.Fatal(err)
	}
	// Calls are not touched by a Messages fault, but take the next one for
	// any resource.
	if _, err := api.ListCall(nil); err == nil || restError(t, err).Code != 20429 {
		t.Errorf("list calls: %v, want the 429 fault", err)
	}
	for i := range 2 {
		if e := restError(t, create()); e.Status != 503 || e.Code != 20503 {
			t.Errorf("create %d: %d/%d, want 503/20503", i, e.Status, e.Code)
		}
	}
	if err := create(); err != nil {
		t.Errorf("after the faults: %v", err)
	}
	if n := len(srv.MessagesTo(mayor)); n != 1 {
		t.Errorf("%d messages recorded, want 1: a fault before handling creates nothing", n)
	}
	st := srv.Stats()
	if st.Faults["503"] != 2 || st.Faults["429"] != 1 || len(srv.Faults()) != 0 {
		t.Errorf("faults served %v, left %v", st.Faults, srv.Faults())
	}

	for _, bad := range []Fault{{Status: 404}, {Status: 429, AfterCreate: true}, {Status: 500, Resource: "Queues"}, {Status: 500, Count: -1}} {
		if err := srv.InjectFault(bad); err == nil {
			t.Errorf("InjectFault(%+v) accepted", bad)
		}
	}
	srv.InjectFault(Fault{Status: 500, Count: 5})
	srv.ClearFaults()
	if err := create(); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
}

// The product's reconciliation: the create answered 500, yet the message
// went; listing by To finds it, so it is not sent twice.
func TestFaultAfterCreate(t *testing.T) {
	hook := newHook(t, testToken)
	srv, api := start(t, Config{})
	srv.InjectFault(Fault{Status: 500, AfterCreate: true, Resource: ResourceMessages})
	// A refused create does not use the fault up.
	if _, err := api.CreateMessage((&openapi.CreateMessageParams{}).SetTo("nope").SetFrom(testFrom).SetBody("x")); restError(t, err).Code != 21211 {
		t.Fatalf("invalid To: %v", err)
	}
	_, err := api.CreateMessage((&openapi.CreateMessageParams{}).SetTo(mayor).SetFrom(testFrom).SetBody("EXERCICE").SetStatusCallback(hook.URL))
	if e := restError(t, err); e.Status != 500 || e.Code != 20500 {
		t.Fatalf("create: %d/%d, want 500/20500", e.Status, e.Code)
	}
	listed, err := api.ListMessage((&openapi.ListMessageParams{}).SetTo(mayor))
	if err != nil || len(listed) != 1 || str(listed[0].Body) != "EXERCICE" {
		t.Fatalf("listing by To after the 500: %v %v", listed, err)
	}
	rec := srv.MessagesTo(mayor)
	if len(rec) != 1 || rec[0].FaultServed != 500 {
		t.Errorf("record %+v", rec)
	}
	if r := hook.next(t); r.Form.Get("MessageSid") != str(listed[0].Sid) {
		t.Errorf("callback for %s", r.Form.Get("MessageSid"))
	}
	if srv.Stats().Faults["500-after-create"] != 1 {
		t.Errorf("stats %v", srv.Stats().Faults)
	}

	srv.InjectFault(Fault{Status: 503, AfterCreate: true, Resource: ResourceCalls})
	_, err = api.CreateCall((&openapi.CreateCallParams{}).SetTo(mayor).SetFrom(testFrom).SetTwiml(gatherTwiML))
	if e := restError(t, err); e.Status != 503 {
		t.Fatalf("call: %v", e)
	}
	if calls := srv.CallsTo(mayor); len(calls) != 1 || calls[0].FaultServed != 503 {
		t.Errorf("calls %+v", calls)
	}
}

func TestLatency(t *testing.T) {
	srv, api := start(t, Config{})
	srv.SetLatency(150 * time.Millisecond)
	begin := time.Now()
	if _, err := api.ListMessage(nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d < 150*time.Millisecond {
		t.Errorf("answered in %s despite a 150ms latency", d)
	}
	// A client that gives up does not know; the message still goes.
	impatient := twilioAPITimeout(t, srv, 30*time.Millisecond)
	_, err := impatient.CreateMessage(smsParams(mayor))
	// net/http words a client timeout differently depending on when it
	// strikes; it is a net.Error that says Timeout either way.
	var timeout net.Error
	if !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Errorf("impatient client: %v, want a timeout", err)
	}
	waitFor(t, "the message behind the timeout", func() bool { return len(srv.MessagesTo(mayor)) == 1 })
	srv.SetLatency(0)
	if srv.Latency() != 0 {
		t.Error("latency not removed")
	}
}

func TestControlEndpoints(t *testing.T) {
	sms := newHook(t, testToken)
	srv, api := start(t, Config{})
	base := srv.URL() + "/sim"
	jsonType := "application/json"

	resp, body := do(t, "POST", base+"/faults", jsonType, `{"status":500,"count":1,"resource":"Messages","after_create":true}`)
	if resp.StatusCode != 201 {
		t.Fatalf("POST /sim/faults: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, "POST", base+"/faults", jsonType, `{"status":418}`); resp.StatusCode != 400 {
		t.Errorf("teapot fault: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, "POST", base+"/faults", jsonType, `{"status":500,"colour":"red"}`); resp.StatusCode != 400 {
		t.Errorf("unknown field: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "PUT", base+"/sms-url", jsonType, `{"url":"`+sms.URL+`/sms"}`); resp.StatusCode != 204 {
		t.Errorf("PUT /sim/sms-url: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "PUT", base+"/sms-url", jsonType, `{"url":"not a url"}`); resp.StatusCode != 400 {
		t.Errorf("PUT /sim/sms-url with a bad URL: %d", resp.StatusCode)
	}
	if resp, body := do(t, "PUT", base+"/latency", jsonType, `{"latency":"1ms"}`); resp.StatusCode != 200 || srv.Latency() != time.Millisecond {
		t.Errorf("PUT /sim/latency: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, "PUT", base+"/latency", jsonType, `{"latency":"-1s"}`); resp.StatusCode != 400 {
		t.Errorf("negative latency: %d", resp.StatusCode)
	}

	_, err := api.CreateMessage(smsParams(mayor))
	if restError(t, err).Code != 20500 {
		t.Fatalf("fault from the control endpoint not served: %v", err)
	}
	placeCall(t, api, deputy, "")

	var msgs []Message
	resp, body = do(t, "GET", base+"/messages?to=%2B33639980001", "", "")
	if err := json.Unmarshal(body, &msgs); err != nil || resp.StatusCode != 200 || len(msgs) != 1 || msgs[0].FaultServed != 500 {
		t.Errorf("GET /sim/messages: %d %s", resp.StatusCode, body)
	}
	var calls []Call
	_, body = do(t, "GET", base+"/calls", "", "")
	if err := json.Unmarshal(body, &calls); err != nil || len(calls) != 1 || calls[0].To != deputy {
		t.Errorf("GET /sim/calls: %s", body)
	}
	var st Stats
	_, body = do(t, "GET", base+"/stats", "", "")
	if err := json.Unmarshal(body, &st); err != nil || st.Messages != 1 || st.Faults["500-after-create"] != 1 {
		t.Errorf("GET /sim/stats: %s", body)
	}
	do(t, "POST", base+"/faults", jsonType, `{"status":503,"count":3}`)
	if resp, _ := do(t, "DELETE", base+"/faults", "", ""); resp.StatusCode != 204 || len(srv.Faults()) != 0 {
		t.Errorf("DELETE /sim/faults: %d, left %v", resp.StatusCode, srv.Faults())
	}
	if resp, _ := do(t, "GET", base+"/nothing", "", ""); resp.StatusCode != 404 {
		t.Errorf("GET /sim/nothing: %d", resp.StatusCode)
	}
	r, err := http.Get(base + "/messages")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 401 {
		t.Errorf("GET /sim/messages without credentials: %d", r.StatusCode)
	}
}

func TestCallsPerSecond(t *testing.T) {
	clock := NewManualClock(t0)
	srv, api := start(t, Config{Clock: clock, CallsPerSecond: 2})
	p := (&openapi.CreateCallParams{}).SetTo(mayor).SetFrom(testFrom).SetTwiml("<Response/>")
	dial(t, api, p)
	dial(t, api, p)
	if _, err := api.CreateCall(p); restError(t, err).Code != 20429 {
		t.Errorf("third call in the same second: %v", err)
	}
	clock.Advance(500 * time.Millisecond)
	dial(t, api, p)
	if st := srv.Stats(); st.Calls != 3 || st.RateLimited != 1 {
		t.Errorf("stats %+v", st)
	}
}
