package twilio

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// voiceApp plays the web layer's part in a call: it checks each request's
// signature against its public URL, reads the playing from the URL, and
// answers with the TwiML builders.
type voiceApp struct {
	*httptest.Server
	t        *testing.T
	v        *Validator
	prompt   Prompt
	informed atomic.Bool // the official was informed another way meanwhile

	mu      sync.Mutex
	gathers []Gather
	plays   []int // the playing each Gather was posted from
	refused int   // requests whose signature did not check
}

func newVoiceApp(t *testing.T, text string) *voiceApp {
	t.Helper()
	a := &voiceApp{t: t}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	var err error
	if a.v, err = NewValidator(testToken, a.URL); err != nil {
		t.Fatal(err)
	}
	a.prompt = Prompt{
		Text:      text,
		TwiMLURL:  a.URL + "/webhooks/twilio/voice/twiml?attempt=r1-2",
		GatherURL: a.URL + "/webhooks/twilio/voice/gather?attempt=r1-2",
		Voice:     "Polly.Lea",
	}
	return a
}

func (a *voiceApp) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !a.v.Valid(r.URL.RequestURI(), body, r.Header.Get("X-Twilio-Signature")) {
		a.mu.Lock()
		a.refused++
		a.mu.Unlock()
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	form, _ := url.ParseQuery(string(body))
	play, err := ParsePlay(r.URL.Query())
	if err != nil {
		a.t.Errorf("%s: %v", r.URL, err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var doc string
	switch r.URL.Path {
	case "/webhooks/twilio/voice/twiml":
		if a.informed.Load() {
			doc, err = AlreadyInformedTwiML(a.prompt.Voice)
		} else {
			doc, err = MessageTwiML(a.prompt, play)
		}
	case "/webhooks/twilio/voice/gather":
		var g Gather
		if g, err = ParseGather(form); err != nil {
			break
		}
		a.mu.Lock()
		a.gathers, a.plays = append(a.gathers, g), append(a.plays, play)
		a.mu.Unlock()
		if g.Acknowledges() {
			a.informed.Store(true)
			doc, err = ConfirmTwiML(a.prompt.Voice)
		} else {
			doc, err = WrongKeyTwiML(a.prompt, play)
		}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		a.t.Errorf("%s: %v", r.URL, err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, doc)
}

const (
	alert       = "EXERCICE. Rupture de digue à Dieppe : évacuez les quais. Appelez la préfecture."
	pressOne    = "Appuyez sur 1 pour confirmer la réception."
	wrongKey    = "Touche non reconnue."
	unconfirmed = "Message non confirmé. La préfecture vous rappellera."
	confirmed   = "Réception confirmée. Merci."
	alreadyDone = "Cette alerte a déjà été confirmée. Merci."
)

// Calls to the mayor of Dieppe, who picks up (or whose voicemail does)
// and presses a key or none; what they hear is what the TwiML builders
// wrote, played by the simulator.
func TestVoiceCallScenarios(t *testing.T) {
	for _, tc := range []struct {
		name     string
		persona  twiliosim.Persona
		informed bool // informed another way before the call is answered
		said     []string
		fetches  []string // why each TwiML document was asked for
		gathers  []string // the keys posted, as "play:digits"
		ack      bool
	}{
		{
			name:    "presses 1",
			persona: twiliosim.Persona{Call: twiliosim.Answer, Press: "1"},
			// Ready once the alert is heard, the official presses over the
			// prompt, which stops.
			said:    []string{alert, confirmed},
			fetches: []string{"answer", "gather"},
			gathers: []string{"1:1"},
			ack:     true,
		},
		{
			name:    "presses 2: the alert once more, then goodbye",
			persona: twiliosim.Persona{Call: twiliosim.Answer, Press: "2"},
			said:    []string{alert, wrongKey, alert, pressOne, unconfirmed},
			fetches: []string{"answer", "gather"},
			gathers: []string{"1:2"},
		},
		{
			name:    "presses nothing: the alert once more, then goodbye",
			persona: twiliosim.Persona{Call: twiliosim.Answer, Press: twiliosim.PressNothing},
			said:    []string{alert, pressOne, alert, pressOne, unconfirmed},
			fetches: []string{"answer", "redirect"},
		},
		{
			name:    "voicemail: heard, not acknowledged",
			persona: twiliosim.Persona{Call: twiliosim.Voicemail},
			said:    []string{alert, pressOne, alert, pressOne, unconfirmed},
			fetches: []string{"answer", "redirect"},
		},
		{
			name:     "informed meanwhile",
			persona:  twiliosim.Persona{Call: twiliosim.Answer, Press: "1"},
			informed: true,
			said:     []string{alreadyDone},
			fetches:  []string{"answer"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := twiliosim.NewManualClock(time.Date(2026, 4, 30, 3, 0, 0, 0, time.UTC))
			sim := testingutil.MustStartSimulator(t, twiliosim.Config{
				AccountSID: testSID, AuthToken: testToken, Clock: clock,
				Profile: twiliosim.Profile{Numbers: map[string]twiliosim.Persona{mayor: tc.persona}},
			})
			p := simProvider(t, sim.URL(), nil)
			app := newVoiceApp(t, alert)
			app.informed.Store(tc.informed)
			hook := newCallbackReceiver(t)

			sid, _, err := p.Call(context.Background(), mayor, app.prompt.TwiMLURL, hook.URL+"/webhooks/twilio/voice/status?attempt=r1-2", 0)
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			clock.Advance(10 * time.Minute)

			call, ok := sim.Call(sid)
			if !ok {
				t.Fatalf("the simulator has no call %s", sid)
			}
			var said, fetches []string
			for _, s := range call.Said {
				said = append(said, s.Text)
				if s.Language != "fr-FR" || s.Voice != "Polly.Lea" {
					t.Errorf("%q said in %q by %q, want fr-FR by Polly.Lea", s.Text, s.Language, s.Voice)
				}
			}
			for _, f := range call.Fetches {
				fetches = append(fetches, f.Reason)
				if f.Status != http.StatusOK || f.Error != "" {
					t.Errorf("fetch %s of %s: status %d, %s", f.Reason, f.URL, f.Status, f.Error)
				}
			}
			if !slices.Equal(said, tc.said) {
				t.Errorf("the call said\n  %s\nwant\n  %s", strings.Join(said, "\n  "), strings.Join(tc.said, "\n  "))
			}
			if !slices.Equal(fetches, tc.fetches) {
				t.Errorf("TwiML fetched for %v, want %v", fetches, tc.fetches)
			}
			if call.Status != "completed" || call.HungUpBy != twiliosim.HungUpByTwiML || call.ErrorCode != 0 {
				t.Errorf("the call ended %s, hung up by %q, error %d %s; want completed by its TwiML", call.Status, call.HungUpBy, call.ErrorCode, call.Error)
			}

			app.mu.Lock()
			var gathers []string
			for i, g := range app.gathers {
				gathers = append(gathers, strconv.Itoa(app.plays[i])+":"+g.Digits)
				if g.CallSID != sid || g.To != mayor || g.From != testFrom {
					t.Errorf("gather %+v, want call %s from %s to the mayor", g, sid, testFrom)
				}
			}
			refused := app.refused
			app.mu.Unlock()
			if !slices.Equal(gathers, tc.gathers) {
				t.Errorf("keys posted %v, want %v", gathers, tc.gathers)
			}
			if refused != 0 {
				t.Errorf("%d requests of the simulator failed the signature check", refused)
			}
			if got := app.informed.Load(); got != tc.ack && !tc.informed {
				t.Errorf("informed = %v, want %v", got, tc.ack)
			}

			// The status callbacks tell the call was answered, never that
			// it was acknowledged: that is the Gather's alone.
			var statuses []tocsin.AttemptStatus
			var last CallStatusCallback
			for range 4 {
				cb := hook.next(t)
				form, _ := url.ParseQuery(string(cb.body))
				if last, err = ParseCallStatus(form); err != nil {
					t.Fatal(err)
				}
				statuses = append(statuses, last.Status)
			}
			want := []tocsin.AttemptStatus{tocsin.AttemptInitiated, tocsin.AttemptRinging, tocsin.AttemptInProgress, tocsin.AttemptCompleted}
			if !slices.Equal(statuses, want) {
				t.Errorf("status callbacks %v, want %v", statuses, want)
			}
			if last.Duration <= 0 {
				t.Errorf("the completed call lasted %s, want a positive CallDuration", last.Duration)
			}
		})
	}
}
