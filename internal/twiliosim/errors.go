package twiliosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Error codes the simulator answers with, as Twilio numbers them.
const (
	CodeBadRequest        = 20001 // a parameter the simulator cannot read
	CodeAuthenticate      = 20003
	CodeMethodNotAllowed  = 20004
	CodeNotFound          = 20404
	CodeTooManyRequests   = 20429
	CodeInternalError     = 20500
	CodeUnavailable       = 20503
	CodeNoTo              = 21201 // call without To
	CodeInvalidURL        = 21205 // call without a valid Url or Twiml
	CodeCallerNotVerified = 21210 // call From not one of the account's numbers
	CodeInvalidTo         = 21211
	CodeInvalidFrom       = 21212
	CodeNoCaller          = 21213 // call without From
	CodeCallNotInProgress = 21220 // call update with Url or Twiml on a call not in progress
	CodeNoBody            = 21602
	CodeNoFrom            = 21603 // message without From or MessagingServiceSid
	CodeNoMessageTo       = 21604
	CodeFromNotOwned      = 21606
	CodeInvalidCallback   = 21609
	CodeUnsubscribed      = 21610
	CodeNotMobile         = 21614
	CodeBodyTooLong       = 21617
	CodeInvalidService    = 21701
)

// Errors a call's TwiML meets (Call.ErrorCode); the call then ends.
const (
	CodeInvalidTwiMLURL    = 11100 // a relative URL with nothing to resolve it against, or not http(s)
	CodeHTTPRetrieval      = 11200 // no answer, or a status other than 2xx
	CodeDocumentParse      = 12100 // not TwiML: malformed XML, or no <Response> root
	CodeInvalidContentType = 12300 // a Content-Type Twilio does not play
)

// Delivery error codes that arrive later, in status callbacks and in the
// message's error_code.
const (
	CodeUnreachable     = 30003
	CodeBlocked         = 30004
	CodeUnknownHandset  = 30005
	CodeLandline        = 30006
	CodeFiltered        = 30007
	CodeUnknownDelivery = 30008
)

var deliveryErrorMessages = map[int]string{
	30001: "Queue overflow",
	30002: "Account suspended",
	30003: "Unreachable destination handset",
	30004: "Message blocked",
	30005: "Unknown destination handset",
	30006: "Landline or unreachable carrier",
	30007: "Message filtered",
	30008: "Unknown error",
	30009: "Missing segment",
	30010: "Message price exceeds max price",
}

// apiError is Twilio's JSON error body. Detail is set by Twilio only on
// some errors (authentication).
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	Detail   string `json:"detail,omitempty"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("twilio %d (HTTP %d): %s", e.Code, e.Status, e.Message)
}

func newAPIError(status, code int, format string, args ...any) *apiError {
	return &apiError{
		Code:     code,
		Message:  fmt.Sprintf(format, args...),
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		Status:   status,
	}
}

func badRequest(code int, format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, code, format, args...)
}

func errUnauthorized() *apiError {
	e := newAPIError(http.StatusUnauthorized, CodeAuthenticate, "Authenticate")
	e.Detail = "Your AccountSid or AuthToken was incorrect."
	return e
}

func errNotFound(path string) *apiError {
	return newAPIError(http.StatusNotFound, CodeNotFound, "The requested resource %s was not found", path)
}

func errTooManyRequests() *apiError {
	return newAPIError(http.StatusTooManyRequests, CodeTooManyRequests, "Too Many Requests")
}

// errStatus is the error body served for an injected fault.
func errStatus(status int) *apiError {
	switch status {
	case http.StatusTooManyRequests:
		return errTooManyRequests()
	case http.StatusServiceUnavailable:
		return newAPIError(status, CodeUnavailable, "Service Unavailable")
	default:
		return newAPIError(status, CodeInternalError, "Internal Server Error")
	}
}

// writeJSON writes v as Twilio does, without escaping &, < and > (page
// URIs carry &).
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		_ = enc.Encode(errStatus(status))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
	}
	writeJSON(w, e.Status, e)
}
