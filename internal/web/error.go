package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// statusOf maps error codes to HTTP statuses: the one table.
var statusOf = map[string]int{
	tocsin.EInvalid:      http.StatusBadRequest,
	tocsin.EUnauthorized: http.StatusUnauthorized,
	tocsin.EForbidden:    http.StatusForbidden,
	tocsin.ENotFound:     http.StatusNotFound,
	tocsin.EConflict:     http.StatusConflict,
	tocsin.EMethod:       http.StatusMethodNotAllowed,
	tocsin.EUnavailable:  http.StatusServiceUnavailable,
	tocsin.EInternal:     http.StatusInternalServerError,

	// A history file read whole whose lines are refused.
	tocsin.EUnprocessable: http.StatusUnprocessableEntity,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string   `json:"code"`
	Field   string   `json:"field,omitempty"`
	Message string   `json:"message"`
	Details []string `json:"details,omitempty"` // every error of a list (CSV lines)
}

// writeError answers err as JSON. Internal errors are logged in full and
// shown as "erreur interne".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	err = unavailableIfLate(err)
	code := tocsin.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if code == tocsin.EInternal || code == tocsin.EUnavailable {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == tocsin.EForbidden {
		s.recordRefusal(r, userFrom(r.Context()).Name, err)
	}
	body := errorBody{Error: errorDetail{Code: code, Field: tocsin.ErrorField(err), Message: tocsin.ErrorMessage(err)}}
	if l, ok := err.(*tocsin.ListError); ok {
		for _, e := range l.Errs {
			body.Error.Details = append(body.Error.Details, e.Field+" : "+e.Message)
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tocsin"`)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		slog.Debug("write response", "err", err)
	}
}

// unavailableIfLate turns a request deadline that expired, wherever it
// surfaced, into the store's unavailability: the only thing a request
// waits on long enough to reach its deadline is etcd without a quorum.
// Users see 503 « le stockage (etcd) ne répond pas », never a 500.
func unavailableIfLate(err error) error {
	if err == nil || tocsin.ErrorCode(err) != tocsin.EInternal || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", tocsin.Errorf(tocsin.EUnavailable, "le stockage (etcd) ne répond pas"), err)
}
