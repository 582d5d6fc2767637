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
	s.notify(kind, http.MethodPost, webhookURL, params)
}

// notify sends a signed webhook with method (GET or POST), without
// retry, and counts it. It runs without s.mu held.
func (s *Simulator) notify(kind, method, webhookURL string, params url.Values) {
	s.mu.Lock()
	lose := s.lose
	if lose {
		s.stats.CallbacksLost++
	}
	s.mu.Unlock()
	if lose {
		s.log.Info("webhook lost on purpose", "kind", kind, "url", redactURL(webhookURL))
		return
	}
	resp, err := s.send(method, webhookURL, params, 64<<10)
	if err == nil && (resp.status < 200 || resp.status > 299) {
		err = fmt.Errorf("answered %d %s", resp.status, http.StatusText(resp.status))
	}
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

// response is what a webhook was answered with.
type response struct {
	status      int
	contentType string
	body        []byte // at most the limit given to send
	truncated   bool   // the body was longer
}

// send makes one request as Twilio does: a POST carries params
// form-encoded, a GET appends them to the query string; either is signed
// with X-Twilio-Signature over the URL requested (query included) and,
// for a POST, the params. It reads up to limit bytes of the answer.
func (s *Simulator) send(method, target string, params url.Values, limit int64) (response, error) {
	var body io.Reader
	signed := params
	if method == http.MethodGet {
		u, err := url.Parse(target)
		if err != nil {
			return response{}, err
		}
		if q := params.Encode(); q != "" {
			if u.RawQuery != "" {
				u.RawQuery += "&"
			}
			u.RawQuery += q
		}
		target, signed = u.String(), nil
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, target, body)
	if err != nil {
		return response{}, err
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", Signature(s.authToken, target, signed))
	req.Header.Set("I-Twilio-Idempotency-Token", newSID("")[:32])
	resp, err := s.client.Do(req)
	if err != nil {
		// The *url.Error repeats the full URL, which may carry tokens.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	out := response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: b}
	if int64(len(b)) > limit {
		out.body, out.truncated = b[:limit], true
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return out, err
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
