package twiliosim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"
)

// controlRoutes adds the /sim/ endpoints: the record, the faults, the
// latency and the SMS URL. They take the same Basic auth as the REST API.
func (s *Simulator) controlRoutes(mux *http.ServeMux) {
	handle := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !s.authorized(r) {
				writeError(w, errUnauthorized())
				return
			}
			h(w, r)
		}))
	}
	handle("GET /sim/messages", func(w http.ResponseWriter, r *http.Request) {
		to, from, dir := r.URL.Query().Get("to"), r.URL.Query().Get("from"), r.URL.Query().Get("direction")
		out := s.messagesWhere(func(m *Message) bool {
			return (to == "" || m.To == to) && (from == "" || m.From == from) && (dir == "" || m.Direction == dir)
		})
		writeJSON(w, http.StatusOK, out)
	})
	handle("GET /sim/calls", func(w http.ResponseWriter, r *http.Request) {
		to := r.URL.Query().Get("to")
		writeJSON(w, http.StatusOK, s.callsWhere(func(c *Call) bool { return to == "" || c.To == to }))
	})
	handle("GET /sim/calls/{sid}", func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.Call(r.PathValue("sid"))
		if !ok {
			writeError(w, errNotFound(r.URL.Path))
			return
		}
		writeJSON(w, http.StatusOK, c)
	})
	handle("GET /sim/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	handle("POST /sim/calls-in", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			URL  string `json:"url"`
			From string `json:"from"`
			To   string `json:"to"`
			// Count, when set, places that many callers, one every
			// Every, who wait in a queue for Patience at most: they are
			// placed on the simulator's clock and the answer does not
			// wait for them (202).
			Count    int    `json:"count"`
			Every    string `json:"every"`    // "20s"
			Patience string `json:"patience"` // "2m"; empty: forever
		}
		if e := readJSON(w, r, &b); e != nil {
			writeError(w, e)
			return
		}
		if b.Count > 0 {
			every, err1 := parseOptionalDuration(b.Every)
			patience, err2 := parseOptionalDuration(b.Patience)
			if err := errors.Join(err1, err2); err != nil {
				writeError(w, badRequest(CodeBadRequest, "every and patience are durations such as \"20s\": %v", err))
				return
			}
			if err := s.Arrivals(Caller{URL: b.URL, To: b.To, Patience: patience}, b.Count, every); err != nil {
				writeError(w, badRequest(CodeBadRequest, "%v", err))
				return
			}
			writeJSON(w, http.StatusAccepted, map[string]int{"placed": b.Count})
			return
		}
		if u, err := url.Parse(b.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !e164.MatchString(b.From) || !e164.MatchString(b.To) {
			writeError(w, badRequest(CodeBadRequest, "url (an absolute http or https URL), from and to (E.164 numbers) are required"))
			return
		}
		c, err := s.CallIn(b.URL, b.From, b.To)
		if err != nil {
			writeError(w, newAPIError(http.StatusBadGateway, CodeBadRequest, "%v", err))
			return
		}
		writeJSON(w, http.StatusOK, c)
	})
	handle("GET /sim/queues/{name}", func(w http.ResponseWriter, r *http.Request) {
		q, ok := s.Queue(r.PathValue("name"))
		if !ok {
			writeError(w, newAPIError(http.StatusNotFound, CodeBadRequest, "no queue %q", r.PathValue("name")))
			return
		}
		writeJSON(w, http.StatusOK, q)
	})
	handle("GET /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	handle("POST /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if e := readJSON(w, r, &f); e != nil {
			writeError(w, e)
			return
		}
		if err := s.InjectFault(f); err != nil {
			writeError(w, badRequest(CodeBadRequest, "%v", err))
			return
		}
		writeJSON(w, http.StatusCreated, s.Faults())
	})
	handle("DELETE /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	handle("GET /sim/latency", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, latencyBody{Latency: s.Latency().String()})
	})
	handle("PUT /sim/latency", func(w http.ResponseWriter, r *http.Request) {
		var b latencyBody
		if e := readJSON(w, r, &b); e != nil {
			writeError(w, e)
			return
		}
		d, err := time.ParseDuration(b.Latency)
		if err != nil || d < 0 {
			writeError(w, badRequest(CodeBadRequest, `latency must be a duration such as "250ms"`))
			return
		}
		s.SetLatency(d)
		writeJSON(w, http.StatusOK, latencyBody{Latency: d.String()})
	})
	handle("PUT /sim/sms-url", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			URL string `json:"url"`
		}
		if e := readJSON(w, r, &b); e != nil {
			writeError(w, e)
			return
		}
		if b.URL != "" && !validWebhookURL(b.URL) {
			writeError(w, badRequest(CodeBadRequest, "url must be an absolute http(s) URL"))
			return
		}
		s.SetSMSURL(b.URL)
		w.WriteHeader(http.StatusNoContent)
	})
	handle("/sim/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errNotFound(r.URL.Path))
	})
}

type latencyBody struct {
	Latency string `json:"latency"`
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormSize))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && err != io.EOF {
		return badRequest(CodeBadRequest, "Unable to read the JSON body: %v", err)
	}
	return nil
}

func parseOptionalDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}
