package app_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// Forged and unsigned webhooks get 403 and change nothing: no official is
// informed, no status moves, no event is added.
func TestForgedOrUnsignedWebhooksAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	profile := twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Silent}}
	a := mustRunApp(t, app.Config{SimulatorProfile: &profile})
	official := tocsin.Official{ID: "maire-dieppe", Name: "Maire de Dieppe", Role: "maire", Commune: "76217",
		CommuneName: "Dieppe", Arrondissement: "Dieppe", Numbers: []tocsin.Number{{E164: fictionMobile(1), Kind: tocsin.Mobile}}}
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{official}); err != nil {
		t.Fatal(err)
	}
	var created view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &created); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	// Delivered, and the outcome of the send recorded: the status
	// callbacks may come before it.
	before := waitFor(t, a, created.ID, 10*time.Second, "delivered", func(v *view) bool {
		return v.Summary.Delivered == 1 && slices.ContainsFunc(v.Timeline, func(e tocsin.Event) bool { return e.Kind == tocsin.EventAccepted })
	})
	attempt := before.Recipients[0].Attempts[0]

	reply := url.Values{"MessageSid": {"SMforged"}, "From": {fictionMobile(1)}, "To": {"+33639980000"}, "Body": {"OK"}}
	statusPath := "/twilio/sms/status?" + url.Values{"a": {created.ID}, "o": {official.ID}, "t": {attempt.ID}}.Encode()
	status := url.Values{"MessageSid": {attempt.SID}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}
	token := a.Simulator().AuthToken()
	cases := []struct {
		name, path string
		form       url.Values
		sig        string
	}{
		{"unsigned reply", "/twilio/sms/inbound", reply, ""},
		{"reply signed with another token", "/twilio/sms/inbound", reply, twiliosim.Signature("0123456789abcdef0123456789abcdef", a.URL()+"/twilio/sms/inbound", reply)},
		{"reply signed for another URL", "/twilio/sms/inbound", reply, twiliosim.Signature(token, "https://evil.example/twilio/sms/inbound", reply)},
		{"reply whose body was changed", "/twilio/sms/inbound", reply, twiliosim.Signature(token, a.URL()+"/twilio/sms/inbound",
			url.Values{"MessageSid": {"SMforged"}, "From": {fictionMobile(1)}, "To": {"+33639980000"}, "Body": {"NON"}})},
		{"garbage signature", "/twilio/sms/inbound", reply, "bm90IGEgc2lnbmF0dXJl"},
		{"unsigned status", statusPath, status, ""},
		{"status signed for another attempt", statusPath, status, twiliosim.Signature(token, a.URL()+strings.Replace(statusPath, attempt.ID, "r0-9", 1), status)},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("POST", a.URL()+c.path, strings.NewReader(c.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.sig != "" {
			req.Header.Set("X-Twilio-Signature", c.sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", c.name, resp.StatusCode)
		}
	}
	var after view
	api(t, a, "GET", "/api/v1/activations/"+created.ID, nil, &after)
	r := after.Recipients[0]
	if r.InformedAt != nil || r.Status != tocsin.StatusDelivered || r.Attempts[0].Status != tocsin.AttemptDelivered {
		t.Errorf("after forged webhooks: status %s, informed %v, attempt %s; want delivered, not informed", r.Status, r.InformedAt, r.Attempts[0].Status)
	}
	if len(after.Timeline) != len(before.Timeline) {
		t.Errorf("timeline: %d events before, %d after; want no new event", len(before.Timeline), len(after.Timeline))
	}
	// The same reply, properly signed, is taken: the check is not refusing everything.
	postSigned(t, a, "/twilio/sms/inbound", reply)
	waitFor(t, a, created.ID, 5*time.Second, "informed", func(v *view) bool { return v.Summary.Informed == 1 })
}
