package twiliosim

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

func TestSignatureMatchesTwilioGoValidator(t *testing.T) {
	v := client.NewRequestValidator(testToken)
	for _, u := range []string{
		"https://tocsin.example.fr/webhooks/twilio/status?attempt=r0-1",
		"http://127.0.0.1:8080/webhooks/twilio/sms",
	} {
		params := url.Values{
			"MessageSid": {"SM0123"}, "MessageStatus": {"delivered"}, "To": {mayor},
			"Body": {"Réponse : OK & merci"}, "ApiVersion": {"2010-04-01"},
		}
		sig := Signature(testToken, u, params)
		body := []byte(params.Encode())
		if !v.ValidateBody(u, body, sig) {
			t.Errorf("%s: twilio-go rejects the signature", u)
		}
		changed := url.Values{}
		for k, vs := range params {
			changed[k] = vs
		}
		changed.Set("MessageStatus", "undelivered")
		if v.ValidateBody(u, []byte(changed.Encode()), sig) {
			t.Errorf("%s: a changed body still validates", u)
		}
		if v.ValidateBody(u+"&x=1", body, sig) {
			t.Errorf("%s: another URL still validates", u)
		}
		if other := client.NewRequestValidator("ffffffffffffffffffffffffffffffff"); other.ValidateBody(u, body, sig) {
			t.Errorf("%s: another token validates", u)
		}
	}
}

func TestStatusCallbacksSignedAndOrdered(t *testing.T) {
	hook := newHook(t, testToken)
	_, api := start(t, Config{Profile: Profile{Delivery: Fixed(4 * time.Millisecond)}})
	callback := hook.URL + "/webhooks/twilio/status?attempt=r0-1"
	m := sendSMS(t, api, mayor, "Alerte crue", callback)

	for _, want := range []string{"sent", "delivered"} {
		r := hook.next(t)
		if !r.Valid {
			t.Errorf("%s callback: signature %q rejected by twilio-go for %s", want, r.Sig, r.URL)
		}
		if r.URL != callback {
			t.Errorf("callback posted to %s, want %s", r.URL, callback)
		}
		if r.Agent != "TwilioProxy/1.1" {
			t.Errorf("User-Agent %q", r.Agent)
		}
		wantForm := map[string]string{
			"MessageSid": str(m.Sid), "SmsSid": str(m.Sid), "AccountSid": testSID,
			"From": testFrom, "To": mayor, "MessageStatus": want, "SmsStatus": want,
			"ApiVersion": "2010-04-01",
		}
		for k, v := range wantForm {
			if got := r.Form.Get(k); got != v {
				t.Errorf("%s callback: %s = %q, want %q", want, k, got, v)
			}
		}
		if r.Form.Has("ErrorCode") {
			t.Errorf("%s callback carries an ErrorCode", want)
		}
		// A forged body is caught.
		v := client.NewRequestValidator(testToken)
		forged := strings.Replace(string(r.Body), want, "failed", 1)
		if v.ValidateBody(r.URL, []byte(forged), r.Sig) {
			t.Errorf("forged %s callback validates", want)
		}
	}
	got, err := api.FetchMessage(str(m.Sid), nil)
	if err != nil || str(got.Status) != "delivered" {
		t.Errorf("fetch after callbacks: %s %v", str(got.Status), err)
	}
	hook.none(t, 20*time.Millisecond)
}

func TestCallbackFailuresAreCountedNotRetried(t *testing.T) {
	hook := newHook(t, testToken)
	hook.status = 500
	srv, api := start(t, Config{})
	sendSMS(t, api, mayor, "x", hook.URL+"/status")
	sendSMS(t, api, deputy, "x", "http://127.0.0.1:1/unreachable")
	hook.next(t)
	hook.next(t)
	hook.none(t, 30*time.Millisecond)
	waitFor(t, "callback failures", func() bool { return srv.Stats().CallbackFailures == 4 })
	if st := srv.Stats(); st.Callbacks != 0 {
		t.Errorf("Callbacks = %d, want 0", st.Callbacks)
	}
}

func TestBehaviours(t *testing.T) {
	start0 := time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC)
	clock := NewManualClock(start0)
	hook := newHook(t, testToken)
	sms := newHook(t, testToken)
	prof := Profile{
		Delivery: Fixed(2 * time.Second),
		Numbers: map[string]Persona{
			"+33639980101": {Behaviour: Reply, Delay: Fixed(time.Minute)},
			"+33639980102": {Behaviour: Reply, Reply: ReplyCode, Delay: Fixed(time.Minute)},
			"+33639980103": {Behaviour: Reply, Reply: "Bien reçu, j'arrive", Delay: Range{time.Minute, 3 * time.Minute}},
			"+33639980104": {Behaviour: Silent},
			"+33639980105": {Behaviour: CarrierFailure, ErrorCode: CodeUnknownHandset},
			"+33639980106": {Behaviour: CarrierFailure, ErrorCode: CodeFiltered, Status: "failed"},
			"+33639980107": {Behaviour: CarrierFailure},
		},
	}
	srv, api := start(t, Config{Clock: clock, Profile: prof, SMSURL: sms.URL + "/sms"})
	body := "EXERCICE Seveso : répondez OK ou le code 4821."
	sids := map[string]string{}
	for n := range prof.Numbers {
		sids[n] = str(sendSMS(t, api, n, body, hook.URL+"/status").Sid)
	}

	clock.Advance(2 * time.Second)
	finals := map[string]received{}
	for range 7 + 6 { // six sent, one failed straight away; then six finals
		r := hook.next(t)
		if !r.Valid {
			t.Errorf("invalid signature on %v", r.Form)
		}
		if st := r.Form.Get("MessageStatus"); st != "sent" {
			finals[r.Form.Get("To")] = r
		}
	}
	for n, want := range map[string]struct {
		status, code string
	}{
		"+33639980101": {"delivered", ""},
		"+33639980102": {"delivered", ""},
		"+33639980103": {"delivered", ""},
		"+33639980104": {"delivered", ""},
		"+33639980105": {"undelivered", "30005"},
		"+33639980106": {"failed", "30007"},
		"+33639980107": {"undelivered", "30003"},
	} {
		r := finals[n]
		if r.Form.Get("MessageStatus") != want.status || r.Form.Get("ErrorCode") != want.code {
			t.Errorf("%s: final callback %s/%q, want %s/%q", n, r.Form.Get("MessageStatus"), r.Form.Get("ErrorCode"), want.status, want.code)
		}
		m, _ := api.FetchMessage(sids[n], nil)
		if str(m.Status) != want.status {
			t.Errorf("%s: fetched status %s, want %s", n, str(m.Status), want.status)
		}
		if want.code != "" && (m.ErrorCode == nil || str(m.ErrorMessage) == "<nil>") {
			t.Errorf("%s: fetched error_code %v error_message %s", n, m.ErrorCode, str(m.ErrorMessage))
		}
	}
	failed, _ := srv.Message(sids["+33639980106"])
	if !failed.DateSent.IsZero() {
		t.Errorf("a failed message has a date_sent")
	}

	sms.none(t, 10*time.Millisecond)
	clock.Advance(time.Minute)
	replies := map[string]received{}
	for range 2 {
		r := sms.next(t)
		replies[r.Form.Get("From")] = r
	}
	sms.none(t, 10*time.Millisecond)
	clock.Advance(2 * time.Minute)
	r := sms.next(t)
	replies[r.Form.Get("From")] = r
	clock.Advance(time.Hour)
	sms.none(t, 10*time.Millisecond)

	for n, want := range map[string]string{
		"+33639980101": "OK",
		"+33639980102": "4821",
		"+33639980103": "Bien reçu, j'arrive",
	} {
		r, ok := replies[n]
		if !ok {
			t.Errorf("%s did not reply", n)
			continue
		}
		if !r.Valid {
			t.Errorf("%s: reply signature rejected", n)
		}
		if r.URL != sms.URL+"/sms" {
			t.Errorf("reply posted to %s", r.URL)
		}
		for k, v := range map[string]string{
			"Body": want, "To": testFrom, "AccountSid": testSID, "NumMedia": "0",
			"NumSegments": "1", "ApiVersion": "2010-04-01", "SmsStatus": "received",
		} {
			if got := r.Form.Get(k); got != v {
				t.Errorf("%s reply: %s = %q, want %q", n, k, got, v)
			}
		}
		if sid := r.Form.Get("MessageSid"); !strings.HasPrefix(sid, "SM") || r.Form.Get("SmsSid") != sid {
			t.Errorf("%s reply: MessageSid %q SmsSid %q", n, sid, r.Form.Get("SmsSid"))
		}
		// The reply is an inbound message, listed by its sender.
		in, err := api.ListMessage((&openapi.ListMessageParams{}).SetFrom(n))
		if err != nil || len(in) != 1 || str(in[0].Direction) != "inbound" || str(in[0].Body) != want || str(in[0].Status) != "received" {
			t.Errorf("%s: listing by From: %v %v", n, in, err)
		}
	}
	if got := len(srv.Replies()); got != 3 {
		t.Errorf("%d replies recorded, want 3", got)
	}
	if rep := srv.Replies()[0]; rep.InReplyTo == "" || rep.Direction != DirectionInbound {
		t.Errorf("reply record %+v", rep)
	}
}

func TestReplyWithoutSMSURLIsRecorded(t *testing.T) {
	sms := newHook(t, testToken)
	srv, api := start(t, Config{Profile: Profile{Default: Persona{Behaviour: Reply, Delay: Fixed(time.Millisecond)}}})
	sendSMS(t, api, mayor, "x", "")
	waitFor(t, "the reply", func() bool { return len(srv.Replies()) == 1 })

	srv.SetSMSURL(sms.URL + "/late")
	sendSMS(t, api, deputy, "x", "")
	if r := sms.next(t); r.Form.Get("From") != deputy || !r.Valid {
		t.Errorf("reply after SetSMSURL: %v valid=%v", r.Form, r.Valid)
	}
}

func TestNobodyRepliesToAnAlphanumericSender(t *testing.T) {
	clock := NewManualClock(time.Now())
	srv, api := start(t, Config{Clock: clock, Profile: Profile{Default: Persona{Behaviour: Reply}}})
	_, err := api.CreateMessage((&openapi.CreateMessageParams{}).SetTo(mayor).SetFrom("PREFET76").SetBody("x"))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if n := len(srv.Replies()); n != 0 {
		t.Errorf("%d replies to an alphanumeric sender", n)
	}
}
