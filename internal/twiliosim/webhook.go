package twiliosim

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Signature returns the X-Twilio-Signature Twilio sends with a POST of
// params to webhookURL: HMAC-SHA1 keyed with the auth token over the URL
// followed by each parameter's name and value, sorted by name (then value),
// in base64.
func Signature(authToken, webhookURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(webhookURL)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		for _, v := range slices.Sorted(slices.Values(params[k])) {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// post sends a signed webhook as Twilio does: form-encoded, no retry. It
// runs without s.mu held; failures are logged and counted.
func (s *Simulator) post(kind, webhookURL string, params url.Values) {
	err := s.doPost(webhookURL, params)
	s.mu.Lock()
	if err != nil {
		s.stats.CallbackFailures++
	} else {
		s.stats.Callbacks++
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("webhook not delivered", "kind", kind, "url", redactURL(webhookURL), "err", err)
		return
	}
	s.log.Debug("webhook delivered", "kind", kind, "url", redactURL(webhookURL))
}

func (s *Simulator) doPost(webhookURL string, params url.Values) error {
	body := params.Encode()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, webhookURL, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", Signature(s.authToken, webhookURL, params))
	req.Header.Set("I-Twilio-Idempotency-Token", newSID("")[:32])
	resp, err := s.client.Do(req)
	if err != nil {
		// The *url.Error repeats the full URL, which may carry tokens.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// redactURL drops the query and credentials from a URL for the log: a
// callback URL may carry tokens.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}
