package twiliosim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

const (
	alert   = "EXERCICE. Crue de la Béthune : évacuez le quartier du Pollet. Appuyez sur 1 pour confirmer."
	prompt  = "Appuyez sur 1 pour confirmer la réception."
	noReply = "Nous n'avons pas reçu votre confirmation."
	thanks  = "Merci, votre réception est confirmée."
)

var t0 = time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC)

// The mayor of Dieppe picks up after 3 s, hears the alert, presses 1; the
// product thanks them and hangs up. Every step falls at its exact time on
// the manual clock.
func TestCallAnsweredPressesOne(t *testing.T) {
	clock := NewManualClock(t0)
	app := newVoiceApp(t)
	app.serve("/voice/call", twimlPage(says(alert)+
		`<Gather action="/voice/ack?attempt=a1" numDigits="1" timeout="5">`+says(prompt)+`</Gather>`+
		says(noReply)+`<Hangup/>`))
	app.serve("/voice/ack", twimlPage(says(thanks)+`<Hangup/>`))
	srv, api := start(t, Config{Clock: clock, Profile: Profile{
		Dial:    Fixed(time.Second),
		Numbers: map[string]Persona{mayor: {Call: Answer, AnswerAfter: Fixed(3 * time.Second)}},
	}})

	sid := dial(t, api, app.callParams(mayor))
	clock.Advance(5*time.Second - time.Millisecond)
	if got := app.statuses(); !slices.Equal(got, []string{"initiated", "ringing"}) {
		t.Fatalf("before pick-up: callbacks %v", got)
	}
	if n := len(app.requests("/voice/call")); n != 0 {
		t.Fatalf("TwiML fetched %d times before pick-up", n)
	}
	clock.Advance(time.Millisecond)
	fetches := app.requests("/voice/call")
	if len(fetches) != 1 {
		t.Fatalf("TwiML fetched %d times at pick-up, want 1", len(fetches))
	}
	r := fetches[0]
	checkVoiceRequest(t, r, sid, mayor)
	if r.Method != "POST" || r.Form.Get("attempt") != "" || !strings.HasSuffix(r.URL, "/voice/call?attempt=a1") || r.Form.Has("AnsweredBy") {
		t.Errorf("TwiML request %s %s %v", r.Method, r.URL, r.Form)
	}

	// The alert takes its reading time; the official presses as soon as
	// it is over, at the start of the <Gather>.
	clock.Advance(speakingTime(alert) - time.Millisecond)
	if n := len(app.requests("/voice/ack")); n != 0 {
		t.Fatalf("pressed before the end of the alert")
	}
	clock.Advance(time.Millisecond)
	acks := app.requests("/voice/ack")
	if len(acks) != 1 {
		t.Fatalf("%d requests to the action, want 1", len(acks))
	}
	checkVoiceRequest(t, acks[0], sid, mayor)
	if got := acks[0].Form.Get("Digits"); got != "1" || !strings.HasSuffix(acks[0].URL, "/voice/ack?attempt=a1") {
		t.Errorf("action %s got Digits %q, want 1", acks[0].URL, got)
	}

	clock.Advance(speakingTime(thanks))
	c, _ := srv.Call(sid)
	if c.Status != "completed" || c.HungUpBy != HungUpByTwiML {
		t.Fatalf("call %s, hung up by %q, want completed by the TwiML", c.Status, c.HungUpBy)
	}
	talk := speakingTime(alert) + speakingTime(thanks)
	wantDuration := int((talk + time.Second - 1) / time.Second)
	if c.Digits != "1" || !c.Heard("Pollet") || !c.Heard(thanks) || c.Heard(prompt) || c.Heard(noReply) ||
		c.Answerer != AnswererHuman || c.AnsweredBy != "" || c.Duration != wantDuration ||
		!c.AnsweredAt.Equal(t0.Add(5*time.Second)) || !c.EndTime.Equal(t0.Add(5*time.Second+talk)) {
		t.Errorf("record: digits %q answerer %q duration %d (want %d) answered %s ended %s; heard:\n%s",
			c.Digits, c.Answerer, c.Duration, wantDuration, c.AnsweredAt, c.EndTime, c.Transcript())
	}
	if len(c.Said) != 2 || c.Said[0].Language != "fr-FR" || !c.Said[0].At.Equal(t0.Add(5*time.Second)) {
		t.Errorf("said %+v", c.Said)
	}
	if len(c.Fetches) != 2 || c.Fetches[0].Reason != "answer" || c.Fetches[1].Reason != "gather" ||
		c.Fetches[1].Digits != "1" || c.Fetches[1].Status != 200 || !strings.Contains(c.Fetches[1].TwiML, thanks) {
		t.Errorf("fetches %+v", c.Fetches)
	}

	if got := app.statuses(); !slices.Equal(got, []string{"initiated", "ringing", "in-progress", "completed"}) {
		t.Errorf("callbacks %v", got)
	}
	done := app.requests("/voice/status")[3]
	for k, want := range map[string]string{
		"CallDuration": fmt.Sprint(wantDuration), "Duration": "1", "SipResponseCode": "200", "SequenceNumber": "3",
	} {
		if got := done.Form.Get(k); got != want {
			t.Errorf("completed callback: %s = %q, want %q", k, got, want)
		}
	}
	if !done.Valid {
		t.Error("completed callback: signature rejected")
	}
	got, err := api.FetchCall(sid, nil)
	if err != nil || str(got.Status) != "completed" || str(got.Duration) != fmt.Sprint(wantDuration) || got.AnsweredBy != nil {
		t.Errorf("fetched call: %s duration %s answered_by %s, %v", str(got.Status), str(got.Duration), str(got.AnsweredBy), err)
	}
	if n := clock.Pending(); n != 0 {
		t.Errorf("%d timers left after the call ended", n)
	}
	if one, err := srv.OnlyCallTo(mayor); err != nil || one.SID != sid {
		t.Errorf("OnlyCallTo: %v", err)
	}
	if _, err := srv.OnlyCallTo(deputy); err == nil || !strings.Contains(err.Error(), "0 calls") {
		t.Errorf("OnlyCallTo a number never called: %v", err)
	}
	if st := srv.Stats(); st.TwiMLFetches != 2 || st.TwiMLFailures != 0 {
		t.Errorf("stats %+v", st)
	}
}

// When and how the official presses, against the <Gather>'s attributes.
func TestGatherKeys(t *testing.T) {
	long := strings.TrimSpace(strings.Repeat("Alerte. ", 10)) // 79 characters: 5.27 s
	for _, c := range []struct {
		name      string
		persona   Persona
		gather    string // the <Gather> element, holding the long prompt
		after     string // verbs after it
		wantAt    time.Duration
		digits    string // posted; "" when the action is not requested
		finished  string
		heard     bool // the prompt was heard in full
		wantSaid  []string
		wantTotal time.Duration // from pick-up to the end
	}{
		{
			name:    "presses during the prompt",
			persona: Persona{Call: Answer, PressAfter: Fixed(time.Second)},
			gather:  `<Gather numDigits="1" action="/voice/ack">`, wantAt: time.Second,
			digits: "1", wantSaid: []string{long, thanks},
		},
		{
			name:    "presses after the prompt",
			persona: Persona{Call: Answer, PressAfter: Fixed(7 * time.Second)},
			gather:  `<Gather numDigits="1" timeout="5" action="/voice/ack">`, wantAt: 7 * time.Second,
			digits: "1", heard: true, wantSaid: []string{long, thanks},
		},
		{
			name:    "waits for the end of a prompt that cannot be interrupted",
			persona: Persona{Call: Answer, PressAfter: Fixed(time.Second)},
			gather:  `<Gather numDigits="1" bargeIn="false" action="/voice/ack">`, wantAt: speakingTime(long),
			digits: "1", heard: true, wantSaid: []string{long, thanks},
		},
		{
			name:    "presses once the first Say is heard, inside the Gather",
			persona: Persona{Call: Answer},
			gather:  `<Gather numDigits="1" action="/voice/ack">`, wantAt: speakingTime(long),
			digits: "1", heard: true, wantSaid: []string{long, thanks},
		},
		{
			name:    "too late for the Gather: no input goes on with the next verb",
			persona: Persona{Call: Answer, PressAfter: Fixed(time.Minute)},
			gather:  `<Gather numDigits="1" timeout="3" action="/voice/ack">`, after: says(noReply),
			heard: true, wantSaid: []string{long, noReply},
			wantTotal: speakingTime(long) + 3*time.Second + speakingTime(noReply),
		},
		{
			name:    "presses nothing",
			persona: Persona{Call: Answer, Press: PressNothing},
			gather:  `<Gather numDigits="1" action="/voice/ack">`, after: says(noReply),
			heard: true, wantSaid: []string{long, noReply},
			wantTotal: speakingTime(long) + 5*time.Second + speakingTime(noReply),
		},
		{
			name:    "no input with actionOnEmptyResult",
			persona: Persona{Call: Answer, Press: PressNothing},
			gather:  `<Gather numDigits="1" timeout="2" actionOnEmptyResult="true" action="/voice/ack">`, after: says(noReply),
			wantAt: speakingTime(long) + 2*time.Second, heard: true, wantSaid: []string{long, thanks},
		},
		{
			name:    "another key",
			persona: Persona{Call: Answer, Press: "2", PressAfter: Fixed(time.Second)},
			gather:  `<Gather numDigits="1" action="/voice/ack">`, wantAt: time.Second,
			digits: "2", wantSaid: []string{long, thanks},
		},
		{
			name:    "several keys ended with the finish key",
			persona: Persona{Call: Answer, Press: "12#", PressAfter: Fixed(time.Second)},
			gather:  `<Gather action="/voice/ack">`, wantAt: time.Second,
			digits: "12", finished: "#", wantSaid: []string{long, thanks},
		},
		{
			name:    "more keys than numDigits",
			persona: Persona{Call: Answer, Press: "123", PressAfter: Fixed(time.Second)},
			gather:  `<Gather numDigits="2" action="/voice/ack">`, wantAt: time.Second,
			digits: "12", wantSaid: []string{long, thanks},
		},
		{
			name:    "fewer keys than numDigits: the timeout ends the Gather",
			persona: Persona{Call: Answer, Press: "4", PressAfter: Fixed(time.Second)},
			gather:  `<Gather numDigits="3" timeout="4" action="/voice/ack">`, wantAt: 5 * time.Second,
			digits: "4", wantSaid: []string{long, thanks},
		},
		{
			name:    "a Gather for speech only hears no key",
			persona: Persona{Call: Answer, PressAfter: Fixed(time.Second)},
			gather:  `<Gather input="speech" timeout="1" action="/voice/ack">`, after: says(noReply),
			heard: true, wantSaid: []string{long, noReply},
			wantTotal: speakingTime(long) + time.Second + speakingTime(noReply),
		},
		{
			name:    "no action: the keys go to the document's URL",
			persona: Persona{Call: Answer, PressAfter: Fixed(time.Second)},
			gather:  `<Gather numDigits="1">`, wantAt: time.Second,
			digits: "1", wantSaid: []string{long, long},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := NewManualClock(t0)
			app := newVoiceApp(t)
			app.serveFunc("/voice/call", func(r appRequest) appPage {
				if r.Form.Has("Digits") {
					return twimlPage(says(long) + `<Hangup/>`)
				}
				return twimlPage(c.gather + says(long) + `</Gather>` + c.after)
			})
			app.serve("/voice/ack", twimlPage(says(thanks)))
			srv, api := start(t, Config{Clock: clock, Profile: Profile{Numbers: map[string]Persona{mayor: c.persona}}})
			sid := dial(t, api, app.callParams(mayor))
			clock.Advance(0) // dial, ring, pick up, fetch
			// The keys go to the action, or back to the document's URL.
			keyRequests := func() []appRequest {
				return append(app.requests("/voice/call")[1:], app.requests("/voice/ack")...)
			}
			if c.wantAt > 0 {
				clock.Advance(c.wantAt - time.Millisecond)
				if n := len(keyRequests()); n != 0 {
					t.Fatalf("%d requests for the keys before %s", n, c.wantAt)
				}
				clock.Advance(time.Millisecond)
				posted := keyRequests()
				if len(posted) != 1 {
					t.Fatalf("%d requests for the keys at %s, want 1", len(posted), c.wantAt)
				}
				p := posted[0]
				checkVoiceRequest(t, p, sid, mayor)
				if p.Form.Get("Digits") != c.digits || p.Form.Has("Digits") != (c.digits != "") || p.Form.Get("FinishedOnKey") != c.finished {
					t.Errorf("posted Digits %q FinishedOnKey %q, want %q and %q", p.Form.Get("Digits"), p.Form.Get("FinishedOnKey"), c.digits, c.finished)
				}
			}
			rec := runToEnd(t, clock, srv, sid, 2*time.Minute)
			if n := len(keyRequests()); c.wantAt == 0 && n != 0 {
				t.Errorf("%d requests for keys nobody pressed", n)
			}
			var said []string
			for _, sp := range rec.Said {
				said = append(said, sp.Text)
			}
			if !slices.Equal(said, c.wantSaid) || rec.Said[0].Interrupted == c.heard {
				t.Errorf("heard (prompt in full: %v, want %v):\n%s", !rec.Said[0].Interrupted, c.heard, rec.Transcript())
			}
			if c.wantTotal > 0 && !rec.EndTime.Equal(rec.AnsweredAt.Add(c.wantTotal)) {
				t.Errorf("ended %s after pick-up, want %s", rec.EndTime.Sub(rec.AnsweredAt), c.wantTotal)
			}
			if want := c.persona.keys(); c.digits != "" && rec.Digits != want {
				t.Errorf("recorded digits %q, want %q", rec.Digits, want)
			}
		})
	}
}

func TestRedirectHangupAndUnknownVerbs(t *testing.T) {
	clock := NewManualClock(t0)
	app := newVoiceApp(t)
	app.serve("/voice/call", twimlPage(`<Play>https://example.invalid/siren.mp3</Play><Dial>+33235000001</Dial>`+
		says("Un")+`<Redirect method="GET">next?step=2</Redirect>`+says("jamais")))
	app.serve("/voice/next", twimlPage(says("Deux")+`<Pause length="3"/>`+says("Trois")+`<Hangup/>`+says("jamais")))
	srv, api := start(t, Config{Clock: clock, Profile: Profile{Default: Persona{Call: Answer, Press: PressNothing}}})
	sid := dial(t, api, app.callParams(mayor))
	c := runToEnd(t, clock, srv, sid, time.Minute)
	next := app.requests("/voice/next")
	if len(next) != 1 {
		t.Fatalf("%d redirects followed", len(next))
	}
	r := next[0]
	checkVoiceRequest(t, r, sid, mayor)
	if r.Method != "GET" || r.Form.Get("step") != "2" || !strings.Contains(r.URL, "/voice/next?step=2&") {
		t.Errorf("redirect: %s %s", r.Method, r.URL)
	}
	if got := c.Transcript(); got != "Un\nDeux\nTrois" || c.HungUpBy != HungUpByTwiML {
		t.Errorf("heard:\n%s\nhung up by %q", got, c.HungUpBy)
	}
	if want := speakingTime("Un") + speakingTime("Deux") + 3*time.Second + speakingTime("Trois"); !c.EndTime.Equal(c.AnsweredAt.Add(want)) {
		t.Errorf("lasted %s, want %s", c.EndTime.Sub(c.AnsweredAt), want)
	}

	// <Reject/> hangs up too; so does the end of the document.
	for doc, want := range map[string]string{
		says("A") + `<Reject reason="busy"/>` + says("B"): "A",
		says("A", "B"): "A\nB",
		``:             "",
	} {
		sid := dial(t, api, (&openapi.CreateCallParams{}).SetTo(deputy).SetFrom(testFrom).SetTwiml(`<Response>`+doc+`</Response>`))
		c := runToEnd(t, clock, srv, sid, time.Minute)
		if c.Transcript() != want || c.Status != "completed" || c.HungUpBy != HungUpByTwiML || c.Fetches[0].URL != "" {
			t.Errorf("%s: %s by %q, heard %q", doc, c.Status, c.HungUpBy, c.Transcript())
		}
	}
}

func TestRedirectLoopIsBounded(t *testing.T) {
	clock := NewManualClock(t0)
	app := newVoiceApp(t)
	app.serve("/voice/call", twimlPage(`<Redirect>/voice/call</Redirect>`))
	srv, api := start(t, Config{Clock: clock, Profile: Profile{Default: Persona{Call: Answer}}})
	sid := dial(t, api, app.callParams(mayor))
	c := runToEnd(t, clock, srv, sid, time.Second)
	if n := len(app.requests("/voice/call")); n != maxFetches {
		t.Errorf("%d fetches, want %d", n, maxFetches)
	}
	if c.Status != "completed" || c.HungUpBy != HungUpByError || !strings.Contains(c.Error, "fetch limit") || len(c.Fetches) != maxFetches+1 {
		t.Errorf("call %s by %q: %q, %d fetches recorded", c.Status, c.HungUpBy, c.Error, len(c.Fetches))
	}
}

func TestTwiMLErrorsEndTheCall(t *testing.T) {
	for _, c := range []struct {
		name string
		page appPage
		code int
	}{
		{"server error", appPage{500, "text/html", "oops"}, CodeHTTPRetrieval},
		{"not found", appPage{404, "text/html", "no"}, CodeHTTPRetrieval},
		{"malformed XML", appPage{200, "text/xml", "<Response><Say>unclosed</Response>"}, CodeDocumentParse},
		{"another root", appPage{200, "text/xml", "<Document><Say>x</Say></Document>"}, CodeDocumentParse},
		{"empty", appPage{200, "text/xml", ""}, CodeDocumentParse},
		{"too large", appPage{200, "text/xml", "<Response>" + says(strings.Repeat("x", maxTwiMLSize)) + "</Response>"}, CodeDocumentParse},
		{"JSON", appPage{200, "application/json", `{"say":"x"}`}, CodeInvalidContentType},
		{"no content type", appPage{200, "", "<Response/>"}, CodeInvalidContentType},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := NewManualClock(t0)
			app := newVoiceApp(t)
			app.serve("/voice/call", c.page)
			srv, api := start(t, Config{Clock: clock, Profile: Profile{Default: Persona{Call: Answer}}})
			rec := runToEnd(t, clock, srv, dial(t, api, app.callParams(mayor)), time.Second)
			if rec.ErrorCode != c.code || rec.Status != "completed" || rec.HungUpBy != HungUpByError || len(rec.Said) != 0 {
				t.Errorf("call %s by %q with %d %q, want error %d", rec.Status, rec.HungUpBy, rec.ErrorCode, rec.Error, c.code)
			}
		})
	}

	// Plain text is read aloud, as Twilio does.
	clock := NewManualClock(t0)
	app := newVoiceApp(t)
	app.serve("/voice/call", appPage{200, "text/plain; charset=utf-8", "<Response><Say>Bonjour</Say></Response>"})
	srv, api := start(t, Config{Clock: clock, Profile: Profile{Default: Persona{Call: Answer}}})
	rec := runToEnd(t, clock, srv, dial(t, api, app.callParams(mayor)), time.Minute)
	if rec.ErrorCode != 0 || rec.Transcript() != "<Response><Say>Bonjour</Say></Response>" || rec.Digits != "" {
		t.Errorf("plain text: error %d, heard %q", rec.ErrorCode, rec.Transcript())
	}

	// Nobody listening at the URL.
	gone := newVoiceApp(t)
	gone.Close()
	rec = runToEnd(t, clock, srv, dial(t, api, gone.callParams(deputy).SetStatusCallback(app.URL+"/voice/status")), time.Minute)
	if rec.ErrorCode != CodeHTTPRetrieval || rec.Fetches[0].Error == "" {
		t.Errorf("unreachable URL: %d %q %+v", rec.ErrorCode, rec.Error, rec.Fetches)
	}
	if st := srv.Stats(); st.TwiMLFetches != 2 || st.TwiMLFailures != 1 {
		t.Errorf("stats %+v", st)
	}
}
