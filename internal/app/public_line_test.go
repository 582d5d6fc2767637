package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// A caller of the public line before the CIP opens hears that it is
// closed; once it is open with nobody in position, the greeting, the duty
// officer's message and the overflow message; with Anne and Paul in
// position, both their phones ring at once; after the close, the closing
// message. A forged or unsigned call gets 403.
func TestPublicLineAnswersCallersAsTheCIPGoes(t *testing.T) {
	t.Parallel()
	a, _, id := startCIP(t, nil)
	call := url.Values{"CallSid": {"CApublic1"}, "From": {"+33639985555"}, "To": {"+33261910000"}}
	say := func() string {
		return strings.ReplaceAll(postSignedBody(t, a, "/twilio/voice/public", call), "&apos;", "'")
	}

	if doc := say(); !strings.Contains(doc, "cellule d'information du public est fermée") || strings.Contains(doc, "<Dial") {
		t.Errorf("before the CIP opens the line says:\n%s", doc)
	}
	var pm tocsin.PublicMessage
	if st := api(t, a, "PUT", "/api/v1/cip/message", map[string]string{"text": "Crue de la Béthune : ne vous approchez pas des berges."}, &pm); st != http.StatusOK || pm.Version != 1 {
		t.Fatalf("public message: status %d, %+v", st, pm)
	}
	if st := api(t, a, "PUT", "/api/v1/cip/message", map[string]string{"text": "  "}, nil); st != http.StatusBadRequest {
		t.Errorf("empty public message: status %d, want 400", st)
	}
	api(t, a, "PUT", "/api/v1/cip/message", map[string]string{"text": "Crue de la Béthune : restez chez vous, évitez les berges."}, &pm)
	api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, nil)
	doc := say()
	for _, s := range []string{"Préfecture de la Seine-Maritime", "restez chez vous, évitez les berges.", "Tous nos opérateurs sont occupés"} {
		if !strings.Contains(doc, s) {
			t.Errorf("open CIP, nobody in position: the line lacks %q:\n%s", s, doc)
		}
	}
	if strings.Contains(doc, "<Dial") || strings.Contains(doc, "ne vous approchez pas") {
		t.Errorf("open CIP, nobody in position: the line rings someone or says the old message:\n%s", doc)
	}
	mark(t, a, id, "cip-01", tocsin.OperatorInPosition)
	mark(t, a, id, "cip-02", tocsin.OperatorInPosition)
	call.Set("CallSid", "CApublic2")
	doc = say()
	q := "?a=" + id
	for _, s := range []string{">cip-" + id + "</Enqueue>", ` waitUrl="` + a.URL() + "/twilio/voice/public/wait" + q + `"`, ` action="` + a.URL() + "/twilio/voice/public/left" + q + `"`} {
		if !strings.Contains(doc, s) { // attributes come in no set order
			t.Errorf("two in position: the caller is not queued (%s):\n%s", s, doc)
		}
	}
	// The caller leaves the queue (the line told to leave): the overflow
	// message; the next caller is taken by Anne.
	left := url.Values{"CallSid": {"CApublic2"}, "QueueResult": {"leave"}, "QueueTime": {"40"}}
	if doc := postSignedBody(t, a, "/twilio/voice/public/left"+q, left); !strings.Contains(doc, "Tous nos opérateurs sont occupés") {
		t.Errorf("the caller left the queue: the line says:\n%s", doc)
	}
	call.Set("CallSid", "CApublic3")
	say()
	left = url.Values{"CallSid": {"CApublic3"}, "QueueResult": {"bridged"}, "QueueTime": {"12"}}
	if doc := postSignedBody(t, a, "/twilio/voice/public/left"+q, left); strings.Contains(doc, "<Say") {
		t.Errorf("Anne answered: the line still says:\n%s", doc)
	}
	var panel cipPanelView
	api(t, a, "GET", "/api/v1/activations/"+id+"/cip", nil, &panel)
	if want := (tocsin.PublicCalls{Total: 3, PutThrough: 2, Queued: 2, Answered: 1, Unanswered: 1, Overflow: 1, LongestWaitSeconds: 40}); panel.Calls != want {
		t.Errorf("calls in the CIP's panel: %+v, want %+v", panel.Calls, want)
	}

	token := a.Simulator().AuthToken()
	for name, sig := range map[string]string{
		"unsigned":                  "",
		"signed with another token": twiliosim.Signature("0123456789abcdef0123456789abcdef", a.URL()+"/twilio/voice/public", call),
		"signed for another URL":    twiliosim.Signature(token, "https://evil.example/twilio/voice/public", call),
	} {
		req, _ := http.NewRequest("POST", a.URL()+"/twilio/voice/public", strings.NewReader(call.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s call: status %d, want 403", name, resp.StatusCode)
		}
	}

	// A caller still waiting when the CIP closes is sent away (<Leave>)
	// and hears that the cell is closed.
	call.Set("CallSid", "CApublic4")
	say()
	api(t, a, "POST", "/api/v1/activations/"+id+"/cip/close", nil, nil)
	if doc := postSignedBody(t, a, "/twilio/voice/public/wait"+q, url.Values{"CallSid": {"CApublic4"}, "QueuePosition": {"1"}}); !strings.Contains(doc, "<Leave") {
		t.Errorf("a caller waiting as the CIP closes is not sent away:\n%s", doc)
	}
	left = url.Values{"CallSid": {"CApublic4"}, "QueueResult": {"leave"}, "QueueTime": {"8"}}
	if doc := postSignedBody(t, a, "/twilio/voice/public/left"+q, left); !strings.Contains(doc, "est fermée") {
		t.Errorf("a caller sent away as the CIP closes hears:\n%s", doc)
	}
	if doc := say(); !strings.Contains(doc, "est fermée") || strings.Contains(doc, "<Dial") {
		t.Errorf("after the close the line says:\n%s", doc)
	}
	m := scrape(t, a)
	for outcome, want := range map[string]float64{"closed": 2, "overflow": 1, "queued": 3, "answered": 1, "unanswered": 2} {
		if got := m.sum("tocsin_cip_public_calls_total", "outcome", outcome); got != want {
			t.Errorf("public line calls %s: %v, want %v", outcome, got, want)
		}
	}
	if got := m.sum("tocsin_webhooks_total", "kind", "public_line", "result", "bad_signature"); got != 3 {
		t.Errorf("public line calls refused: %v, want the 3 forged", got)
	}
	var v struct {
		Current  *tocsin.PublicMessage  `json:"current"`
		Versions []tocsin.PublicMessage `json:"versions"`
	}
	api(t, a, "GET", "/api/v1/cip/message", nil, &v)
	if len(v.Versions) != 2 || v.Current == nil || v.Current.Version != 2 || v.Versions[0].By != "admin" {
		t.Errorf("public message versions: %+v; want 2, the second in force", v)
	}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); len(got) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var all auditEntries
		api(t, a, "GET", "/api/v1/audit", nil, &all)
		got = got[:0]
		for _, e := range all.Entries {
			if e.Action == tocsin.AuditCIPMessage {
				got = append(got, e.Detail)
			}
		}
	}
	if len(got) != 2 || !slices.ContainsFunc(got, func(d string) bool { return strings.Contains(d, "restez chez vous") }) {
		t.Errorf("audit of the public message: %q; want its two versions", got)
	}
}

// Callers placed by the simulator: with Anne (who picks up after 5 s) and
// Paul (who never does) in position, the first caller hears the message
// and is taken by Anne; once Anne is marked unavailable, the next one,
// placed through the simulator's control API, waits while Paul's phone
// rings in vain, and hangs up after a minute. The panel counts both.
func TestPublicLineCallersThroughTheSimulator(t *testing.T) {
	t.Parallel()
	anne, paul := "+33639981001", "+33639981002"
	a, clock, id := startCIP(t, map[string]twiliosim.Persona{
		anne: {Behaviour: twiliosim.Silent, Call: twiliosim.Answer, AnswerAfter: twiliosim.Fixed(5 * time.Second)},
		paul: {Behaviour: twiliosim.Silent, Call: twiliosim.NoAnswer},
	})
	api(t, a, "PUT", "/api/v1/cip/message", map[string]string{"text": "Évitez les berges de la Béthune."}, nil)
	api(t, a, "POST", "/api/v1/activations/"+id+"/cip/open", nil, nil)
	mark(t, a, id, "cip-01", tocsin.OperatorInPosition)
	mark(t, a, id, "cip-02", tocsin.OperatorInPosition)
	line := a.URL() + "/twilio/voice/public"
	sid, err := a.Simulator().Arrive(twiliosim.Caller{URL: line, From: "+33639985555", To: "+33261910000"})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		clock.Advance(10 * time.Second)
	}
	c, _ := a.Simulator().Call(sid)
	if anneCall := a.Simulator().CallsTo(anne); c.QueueResult != twiliosim.QueueBridged || len(anneCall) != 1 || c.BridgedWith != anneCall[0].SID ||
		!c.Heard("Évitez les berges de la Béthune.") || c.Heard("occupés") {
		t.Errorf("first caller: %+v\n%s\nwant the message heard, then Anne", c, c.Transcript())
	}
	mark(t, a, id, "cip-01", tocsin.OperatorUnavailable)
	// The second caller through the simulator's control API, as a
	// training would place one.
	body, _ := json.Marshal(map[string]any{"url": line, "to": "+33261910000", "count": 1, "patience": "1m"})
	req, _ := http.NewRequest("POST", a.Simulator().URL()+"/sim/calls-in", bytes.NewReader(body))
	req.SetBasicAuth(a.Simulator().AccountSID(), a.Simulator().AuthToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /sim/calls-in: status %d, want 202", resp.StatusCode)
	}
	for range 20 {
		clock.Advance(10 * time.Second)
	}
	rec, _ := a.Simulator().Queue("cip-" + id)
	if rec.Enqueued != 2 || rec.Bridged != 1 || rec.Abandoned != 1 || len(a.Simulator().CallsTo(paul)) == 0 {
		t.Errorf("simulator's queue: %+v, Paul called %d times; want the second caller abandoned while Paul rang", rec, len(a.Simulator().CallsTo(paul)))
	}
	var p cipPanelView
	api(t, a, "GET", "/api/v1/activations/"+id+"/cip", nil, &p)
	if want := (tocsin.PublicCalls{Total: 2, PutThrough: 2, Queued: 2, Answered: 1, Abandoned: 1, LongestWaitSeconds: rec.LongestWait}); p.Calls != want {
		t.Errorf("calls in the panel: %+v, want %+v", p.Calls, want)
	}
}
