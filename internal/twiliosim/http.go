package twiliosim

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

const (
	apiVersion  = "2010-04-01"
	accountPath = "/" + apiVersion + "/Accounts/{account}"
	maxFormSize = 1 << 20
)

// Handler serves Twilio's 2010 REST API for messages and calls under
// /2010-04-01/Accounts/{AccountSid}/, and the simulator's control endpoints
// under /sim/ (see the package documentation). Both take HTTP Basic auth
// with the account SID and auth token.
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	routes := []struct {
		method, path, resource string
		h                      http.HandlerFunc
	}{
		{"GET", accountPath, "", s.fetchAccount},
		{"POST", accountPath + "/Messages.json", ResourceMessages, s.createMessage},
		{"GET", accountPath + "/Messages.json", ResourceMessages, s.listMessages},
		{"GET", accountPath + "/Messages/{sid}", ResourceMessages, s.fetchMessage},
		{"POST", accountPath + "/Calls.json", ResourceCalls, s.createCall},
		{"GET", accountPath + "/Calls.json", ResourceCalls, s.listCalls},
		{"GET", accountPath + "/Calls/{sid}", ResourceCalls, s.fetchCall},
		{"POST", accountPath + "/Calls/{sid}", ResourceCalls, s.updateCall},
	}
	paths := map[string]bool{}
	for _, rt := range routes {
		mux.Handle(rt.method+" "+rt.path, s.rest(rt.resource, rt.h))
		if !paths[rt.path] {
			paths[rt.path] = true
			mux.HandleFunc(rt.path, methodNotAllowed)
		}
	}
	s.controlRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errNotFound(r.URL.Path))
	})
	return mux
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, newAPIError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "Method not allowed"))
}

// rest wraps a REST handler with what every Twilio request goes through:
// the added latency, authentication, the account in the path, and the
// injected faults served before handling.
func (s *Simulator) rest(resource string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := s.Latency(); d > 0 {
			// The request is handled even if the client gives up meanwhile:
			// it reached Twilio, and its outcome is unknown to the client.
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				writeError(w, errStatus(http.StatusServiceUnavailable))
				return
			}
		}
		if !s.authorized(r) {
			writeError(w, errUnauthorized())
			return
		}
		account := r.PathValue("account")
		if resource == "" {
			var ok bool
			if account, ok = strings.CutSuffix(account, ".json"); !ok {
				writeError(w, errNotFound(r.URL.Path))
				return
			}
		}
		if account != s.accountSID {
			writeError(w, errNotFound(r.URL.Path))
			return
		}
		if f, ok := s.takeFault(resource, false); ok {
			s.log.Info("fault served", "status", f.Status, "method", r.Method, "path", r.URL.Path)
			writeError(w, errStatus(f.Status))
			return
		}
		h(w, r)
	})
}

func (s *Simulator) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(s.accountSID)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(pass), []byte(s.authToken)) == 1
	return userOK && passOK
}

// parseForm reads a create request's form, refusing bodies over 1 MiB.
func parseForm(w http.ResponseWriter, r *http.Request) *apiError {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	if err := r.ParseForm(); err != nil {
		return badRequest(CodeBadRequest, "Unable to read the request parameters: %v", err)
	}
	return nil
}

// resourceSID returns the SID in the last path segment ("SM….json").
func resourceSID(r *http.Request) (string, bool) {
	return strings.CutSuffix(r.PathValue("sid"), ".json")
}

// accountJSON is the Account resource, without its auth token.
type accountJSON struct {
	DateCreated     string            `json:"date_created"`
	DateUpdated     string            `json:"date_updated"`
	FriendlyName    string            `json:"friendly_name"`
	OwnerAccountSid string            `json:"owner_account_sid"`
	Sid             string            `json:"sid"`
	Status          string            `json:"status"`
	SubresourceUris map[string]string `json:"subresource_uris"`
	Type            string            `json:"type"`
	URI             string            `json:"uri"`
}

func (s *Simulator) fetchAccount(w http.ResponseWriter, r *http.Request) {
	base := "/" + apiVersion + "/Accounts/" + s.accountSID
	created := twilioTime(time.Date(2022, 4, 1, 0, 0, 0, 0, time.UTC))
	writeJSON(w, http.StatusOK, accountJSON{
		DateCreated:     created,
		DateUpdated:     created,
		FriendlyName:    "Tocsin simulator",
		OwnerAccountSid: s.accountSID,
		Sid:             s.accountSID,
		Status:          "active",
		SubresourceUris: map[string]string{
			"messages": base + "/Messages.json",
			"calls":    base + "/Calls.json",
		},
		Type: "Full",
		URI:  base + ".json",
	})
}

// twilioTime formats t as Twilio's JSON does: RFC 1123 with a numeric zone,
// in UTC ("Tue, 30 Apr 2024 08:15:02 +0000").
func twilioTime(t time.Time) string {
	return t.UTC().Format(time.RFC1123Z)
}

func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := twilioTime(t)
	return &s
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
