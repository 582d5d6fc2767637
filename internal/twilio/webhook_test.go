package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// sign computes X-Twilio-Signature as Twilio documents it: HMAC-SHA1 of the
// full URL followed by each form key and value, keys sorted, in base64.
func sign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fullURL
	for _, k := range keys {
		s += k + form.Get(k)
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestValidator(t *testing.T) {
	form := url.Values{
		"MessageSid":    {"SM0123456789abcdef0123456789abcdef"},
		"MessageStatus": {"delivered"},
		"To":            {"+33639980001"},
		"From":          {testFrom},
	}
	body := []byte(form.Encode())
	path := "/webhooks/twilio/sms/status?activation=a1&attempt=r0-1"
	sig := sign(testToken, "https://tocsin.example.fr"+path, form)

	for _, publicURL := range []string{"https://tocsin.example.fr", "https://tocsin.example.fr/"} {
		v, err := NewValidator(testToken, publicURL)
		if err != nil {
			t.Fatalf("NewValidator(%q): %v", publicURL, err)
		}
		if !v.Valid(path, body, sig) {
			t.Errorf("public URL %q: a correctly signed body is refused", publicURL)
		}
	}

	v, _ := NewValidator(testToken, "https://tocsin.example.fr")
	tampered := url.Values{}
	for k, vs := range form {
		tampered[k] = vs
	}
	tampered.Set("MessageStatus", "failed")
	for _, tc := range []struct {
		name, path, sig string
		body            []byte
	}{
		{"tampered body", path, sig, []byte(tampered.Encode())},
		{"other path", "/webhooks/twilio/sms/status?activation=a1&attempt=r0-2", sig, body},
		{"empty signature", path, "", body},
		{"signature for another host", path, sign(testToken, "https://evil.example.com"+path, form), body},
		{"signature with another token", path, sign("othertoken", "https://tocsin.example.fr"+path, form), body},
		{"garbage signature", path, "not base64 at all", body},
	} {
		if v.Valid(tc.path, tc.body, tc.sig) {
			t.Errorf("%s: accepted", tc.name)
		}
	}

	// Tocsin under a path prefix: Twilio signs the full public URL.
	prefixed, _ := NewValidator(testToken, "https://portail.example.fr/tocsin/")
	if !prefixed.Valid(path, body, sign(testToken, "https://portail.example.fr/tocsin"+path, form)) {
		t.Error("public URL with a path: a correctly signed body is refused")
	}
	if prefixed.Valid(path, body, sig) {
		t.Error("public URL with a path: a signature for the bare host is accepted")
	}

	var nilValidator *Validator
	if nilValidator.Valid(path, body, sig) {
		t.Error("a nil validator accepts")
	}
}

func TestNewValidatorRefuses(t *testing.T) {
	for _, tc := range []struct{ token, url string }{
		{"", "https://tocsin.example.fr"},
		{testToken, ""},
		{testToken, "tocsin.example.fr/webhooks"},
		{testToken, "https://tocsin.example.fr/?x=1"},
		{testToken, "ftp://tocsin.example.fr"},
	} {
		if _, err := NewValidator(tc.token, tc.url); err == nil {
			t.Errorf("NewValidator(%q, %q): no error", tc.token, tc.url)
		}
	}
}

func TestParseStatusCallback(t *testing.T) {
	cb, err := ParseStatusCallback(url.Values{
		"AccountSid": {testSID}, "MessageSid": {"SM1"}, "MessageStatus": {"undelivered"},
		"ErrorCode": {"30006"}, "To": {"+33639980001"}, "From": {testFrom},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := StatusCallback{MessageSID: "SM1", AccountSID: testSID, MessageStatus: "undelivered",
		Status: tocsin.AttemptUndelivered, ErrorCode: 30006, To: "+33639980001", From: testFrom}
	if cb != want {
		t.Errorf("got %+v, want %+v", cb, want)
	}

	old, err := ParseStatusCallback(url.Values{"SmsSid": {"SM2"}, "SmsStatus": {"sent"}})
	if err != nil || old.MessageSID != "SM2" || old.Status != tocsin.AttemptSent {
		t.Errorf("SmsSid/SmsStatus form: got %+v, %v", old, err)
	}

	for name, form := range map[string]url.Values{
		"no sid":          {"MessageStatus": {"sent"}},
		"no status":       {"MessageSid": {"SM1"}},
		"unknown status":  {"MessageSid": {"SM1"}, "MessageStatus": {"teleported"}},
		"bad error code":  {"MessageSid": {"SM1"}, "MessageStatus": {"failed"}, "ErrorCode": {"30x"}},
		"sid with symbol": {"MessageSid": {"SM1/../x"}, "MessageStatus": {"sent"}},
	} {
		if _, err := ParseStatusCallback(form); !errors.Is(err, ErrInvalidWebhook) {
			t.Errorf("%s: got %v, want ErrInvalidWebhook", name, err)
		}
	}
}

func TestParseInbound(t *testing.T) {
	in, err := ParseInbound(url.Values{
		"MessageSid": {"SM9"}, "From": {"+33639980001"}, "To": {testFrom}, "Body": {"OK reçu"},
	})
	want := Inbound{MessageSID: "SM9", From: "+33639980001", To: testFrom, Body: "OK reçu"}
	if err != nil || in != want {
		t.Errorf("got %+v, %v; want %+v", in, err, want)
	}
	if _, err := ParseInbound(url.Values{"MessageSid": {"SM9"}, "From": {"+33639980001"}, "To": {testFrom}}); err != nil {
		t.Errorf("an empty body is refused: %v", err)
	}
	for name, form := range map[string]url.Values{
		"no sid":  {"From": {"+33639980001"}, "To": {testFrom}},
		"no from": {"MessageSid": {"SM9"}, "To": {testFrom}},
		"no to":   {"MessageSid": {"SM9"}, "From": {"+33639980001"}},
	} {
		if _, err := ParseInbound(form); !errors.Is(err, ErrInvalidWebhook) {
			t.Errorf("%s: got %v, want ErrInvalidWebhook", name, err)
		}
	}
}

func FuzzWebhooks(f *testing.F) {
	f.Add("MessageSid=SM1&MessageStatus=delivered&ErrorCode=&To=%2B33639980001", "/webhooks/sms", "sig")
	f.Add("SmsSid=SM1&SmsStatus=failed&ErrorCode=30007", "", "")
	f.Add("MessageSid=SM1&From=%2B33639980001&To=%2B33235000000&Body=OK", "?a=%zz", "x")
	f.Add("%%%&&==;", "//evil.example.com/x", "AAAA")
	v, err := NewValidator(testToken, "https://tocsin.example.fr/")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body, path, sig string) {
		form, _ := url.ParseQuery(body)
		if cb, err := ParseStatusCallback(form); err == nil && (cb.MessageSID == "" || cb.Status == "") {
			t.Errorf("accepted a status callback without sid or status: %+v", cb)
		}
		if in, err := ParseInbound(form); err == nil && (in.MessageSID == "" || in.From == "" || in.To == "") {
			t.Errorf("accepted an inbound SMS without sid, from or to: %+v", in)
		}
		if v.Valid(path, []byte(body), "") {
			t.Error("an empty signature is valid")
		}
		_ = v.Valid(path, []byte(body), sig)
	})
}

func TestParseCallStatus(t *testing.T) {
	cb, err := ParseCallStatus(url.Values{
		"AccountSid": {testSID}, "CallSid": {"CA1"}, "CallStatus": {"completed"}, "CallDuration": {"42"},
		"Duration": {"1"}, "AnsweredBy": {"human"}, "SipResponseCode": {"200"},
		"To": {"+33639980001"}, "From": {testFrom}, "Direction": {"outbound-api"}, "SequenceNumber": {"3"},
	})
	want := CallStatusCallback{CallSID: "CA1", AccountSID: testSID, CallStatus: "completed",
		Status: tocsin.AttemptCompleted, Duration: 42 * time.Second, AnsweredBy: "human",
		To: "+33639980001", From: testFrom, SipResponseCode: 200}
	if err != nil || cb != want {
		t.Errorf("got %+v, %v; want %+v", cb, err, want)
	}

	failed, err := ParseCallStatus(url.Values{"CallSid": {"CA2"}, "CallStatus": {"failed"}, "ErrorCode": {"13224"}, "SipResponseCode": {"404"}})
	if err != nil || failed.Status != tocsin.AttemptFailed || failed.ErrorCode != 13224 || failed.SipResponseCode != 404 {
		t.Errorf("failed call: got %+v, %v", failed, err)
	}
	ringing, err := ParseCallStatus(url.Values{"CallSid": {"CA3"}, "CallStatus": {"ringing"}, "CallDuration": {""}})
	if err != nil || ringing.Status != tocsin.AttemptRinging || ringing.Duration != 0 {
		t.Errorf("ringing call: got %+v, %v", ringing, err)
	}

	for name, form := range map[string]url.Values{
		"no sid":            {"CallStatus": {"ringing"}},
		"message sid only":  {"MessageSid": {"SM1"}, "CallStatus": {"ringing"}},
		"no status":         {"CallSid": {"CA1"}},
		"message status":    {"CallSid": {"CA1"}, "CallStatus": {"delivered"}},
		"event, not status": {"CallSid": {"CA1"}, "CallStatus": {"answered"}},
		"bad duration":      {"CallSid": {"CA1"}, "CallStatus": {"completed"}, "CallDuration": {"4.2"}},
		"negative duration": {"CallSid": {"CA1"}, "CallStatus": {"completed"}, "CallDuration": {"-1"}},
		"endless duration":  {"CallSid": {"CA1"}, "CallStatus": {"completed"}, "CallDuration": {"9999999999999"}},
		"bad error code":    {"CallSid": {"CA1"}, "CallStatus": {"failed"}, "ErrorCode": {"x"}},
		"bad sip code":      {"CallSid": {"CA1"}, "CallStatus": {"busy"}, "SipResponseCode": {"486 Busy"}},
		"sid with a slash":  {"CallSid": {"CA1/../x"}, "CallStatus": {"ringing"}},
		"sid far too long":  {"CallSid": {"CA" + strings.Repeat("0", 80)}, "CallStatus": {"ringing"}},
	} {
		if _, err := ParseCallStatus(form); !errors.Is(err, ErrInvalidWebhook) {
			t.Errorf("%s: got %v, want ErrInvalidWebhook", name, err)
		}
	}
}

func TestParseGather(t *testing.T) {
	g, err := ParseGather(url.Values{
		"AccountSid": {testSID}, "CallSid": {"CA1"}, "Digits": {"1"}, "To": {"+33639980001"}, "From": {testFrom},
		"CallStatus": {"in-progress"}, "FinishedOnKey": {""},
	})
	want := Gather{CallSID: "CA1", AccountSID: testSID, Digits: "1", To: "+33639980001", From: testFrom}
	if err != nil || g != want || !g.Acknowledges() {
		t.Errorf("got %+v, %v (acknowledges %v); want %+v, acknowledging", g, err, g.Acknowledges(), want)
	}
	for _, digits := range []string{"", "2", "0", "*", "#", "11"} {
		g, err := ParseGather(url.Values{"CallSid": {"CA1"}, "Digits": {digits}})
		if err != nil || g.Digits != digits || g.Acknowledges() {
			t.Errorf("Digits %q: got %+v, %v, acknowledges %v; want read, not acknowledging", digits, g, err, g.Acknowledges())
		}
	}
	for name, form := range map[string]url.Values{
		"no sid":        {"Digits": {"1"}},
		"bad sid":       {"CallSid": {"CA 1"}, "Digits": {"1"}},
		"letters":       {"CallSid": {"CA1"}, "Digits": {"oui"}},
		"speech":        {"CallSid": {"CA1"}, "Digits": {"1 "}},
		"too many keys": {"CallSid": {"CA1"}, "Digits": {strings.Repeat("1", 40)}},
	} {
		if _, err := ParseGather(form); !errors.Is(err, ErrInvalidWebhook) {
			t.Errorf("%s: got %v, want ErrInvalidWebhook", name, err)
		}
	}
}

func FuzzVoiceWebhooks(f *testing.F) {
	f.Add("CallSid=CA1&CallStatus=completed&CallDuration=42&SipResponseCode=200&AnsweredBy=human")
	f.Add("CallSid=CA1&CallStatus=no-answer&CallDuration=&ErrorCode=&To=%2B33639980001")
	f.Add("CallSid=CA1&Digits=1&To=%2B33639980001&From=%2B33235000000")
	f.Add("CallSid=CA1&Digits=%23&Digits=2")
	f.Add("CallSid=CA1&CallStatus=failed&ErrorCode=99999999999999999999&CallDuration=86401")
	f.Add("%%%&&==;CallSid")
	f.Fuzz(func(t *testing.T, body string) {
		form, _ := url.ParseQuery(body)
		if cb, err := ParseCallStatus(form); err == nil {
			if !alphanumeric.MatchString(cb.CallSID) || cb.Status == "" || cb.Duration < 0 || cb.Duration > 24*time.Hour ||
				cb.ErrorCode < 0 || cb.SipResponseCode < 0 {
				t.Errorf("accepted a call status callback that Twilio cannot send: %+v", cb)
			}
			if back, ok := CallStatus(cb.CallStatus); !ok || back != cb.Status {
				t.Errorf("status %q read as %q", cb.CallStatus, cb.Status)
			}
		} else if !errors.Is(err, ErrInvalidWebhook) {
			t.Errorf("ParseCallStatus: %v does not wrap ErrInvalidWebhook", err)
		}
		if g, err := ParseGather(form); err == nil {
			if !alphanumeric.MatchString(g.CallSID) || strings.Trim(g.Digits, "0123456789*#") != "" {
				t.Errorf("accepted a gather that Twilio cannot send: %+v", g)
			}
			if g.Acknowledges() != (g.Digits == "1") {
				t.Errorf("Digits %q: acknowledges %v", g.Digits, g.Acknowledges())
			}
		} else if !errors.Is(err, ErrInvalidWebhook) {
			t.Errorf("ParseGather: %v does not wrap ErrInvalidWebhook", err)
		}
	})
}
