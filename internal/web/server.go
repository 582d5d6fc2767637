package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Activations runs activations for the API and the console: what the
// duty officer launches, reads and does.
type Activations interface {
	Create(ctx context.Context, by tocsin.User, req activation.Request) (*activation.View, error)
	Preview(ctx context.Context, by tocsin.User, req activation.Request) (*activation.Preview, error)
	Get(ctx context.Context, id string) (*activation.View, error)
	List(ctx context.Context) ([]activation.View, error)
	Close(ctx context.Context, by tocsin.User, id string) (*tocsin.Activation, error)
	ActivateCIP(ctx context.Context, by tocsin.User, id, note string) (*tocsin.Activation, error)
	Confirm(ctx context.Context, by tocsin.User, activationID, official string, req activation.ConfirmRequest) (*tocsin.Recipient, error)
}

// Calls are the calls duty officers make by hand from the « à appeler »
// list: taking an official (« J'appelle »), letting them go, and a call
// that did not inform. A call that informs is a confirmation.
type Calls interface {
	Claim(ctx context.Context, by tocsin.User, activationID, official string) (*tocsin.Recipient, error)
	Release(ctx context.Context, by tocsin.User, activationID, official string) (*tocsin.Recipient, error)
	LogCall(ctx context.Context, by tocsin.User, activationID, official string, req activation.CallRequest) (*tocsin.Recipient, error)
}

// Replies is the inbox of the replies that did not acknowledge.
type Replies interface {
	Inbox(ctx context.Context, v *activation.View) ([]activation.InboxItem, error)
	HandleReply(ctx context.Context, by tocsin.User, activationID, seq string) error
}

// Fixes corrects an official's numbers during a crisis.
type Fixes interface {
	FixNumbers(ctx context.Context, by tocsin.User, official string, numbers []tocsin.Number) (*activation.FixResult, error)
}

// Messages sends a follow-up message of an activation (« fin d'alerte »)
// to its audience.
type Messages interface {
	SendMessage(ctx context.Context, by tocsin.User, id, text string) (*tocsin.FollowUp, error)
}

// Rushes bring the next rung of the ladder forward (« Relancer
// maintenant »), for one official or for every one not informed.
type Rushes interface {
	Rush(ctx context.Context, by tocsin.User, activationID, official string) (*tocsin.Recipient, error)
	RushAll(ctx context.Context, by tocsin.User, activationID string) (int, error)
}

// Inbound applies what Twilio's webhooks bring: statuses, replies, the
// script of a call and the key pressed.
type Inbound interface {
	RecordStatus(ctx context.Context, ref activation.AttemptRef, st activation.StatusReport) error
	Script(ctx context.Context, ref activation.AttemptRef, callSID string) (*activation.CallScript, error)
	KeyPress(ctx context.Context, ref activation.AttemptRef, callSID, digits string) (bool, error)
	Reply(ctx context.Context, in tocsin.Inbound) (activation.ReplyOutcome, error)
}

// Retexes keeps the exercises' lessons learned.
type Retexes interface {
	SaveRetex(ctx context.Context, by tocsin.User, id, text string) (*tocsin.Retex, error)
	Retex(ctx context.Context, id string) (*tocsin.Retex, error)
	Retexes(ctx context.Context) (map[string]tocsin.Retex, error)
}

// Store is what the server reads directly.
type Store interface {
	Officials(ctx context.Context) ([]tocsin.Official, error)
	ReplaceOfficials(ctx context.Context, officials []tocsin.Official, audit ...tocsin.AuditEntry) error
	UserByToken(ctx context.Context, token string) (tocsin.User, error)
	Ping(ctx context.Context) error
}

// Config configures a Server.
type Config struct {
	Activations Activations
	Calls       Calls
	Rushes      Rushes
	Fixes       Fixes
	Replies     Replies
	Messages    Messages
	// ParseNumbers reads an official's numbers, mobiles and landlines
	// apart; errors name each field.
	ParseNumbers func(mobiles, landlines []string) ([]tocsin.Number, error)
	Inbound      Inbound
	Retexes      Retexes
	Store        Store
	Playbooks    func() []tocsin.Playbook
	// ParseOfficials parses a directory CSV; errors name line and column.
	ParseOfficials func(r io.Reader) ([]tocsin.Official, error)
	// CIP keeps the CIP's roster, ParseOperators parses its CSV (errors
	// name line and column); nil hides the roster.
	CIP            CIPRoster
	ParseOperators func(r io.Reader) ([]tocsin.Operator, error)
	// CIPCells runs each activation's CIP; nil: the CIP is only recorded
	// by hand.
	CIPCells CIPCells
	// PublicLine runs the CIP's public line, PublicLineTwiML renders what
	// it answers; nil: no public line.
	PublicLine      PublicLines
	PublicLineTwiML func(l activation.PublicLine, urls PublicLineURLs) (string, error)
	// PublicDialedTwiML ends a call put through: the overflow message
	// when nobody answered.
	PublicDialedTwiML func(answered bool) (string, error)
	// PublicQueue runs the public line's queue and QueueTwiML renders what
	// it says; either nil: the line rings the operators at once.
	PublicQueue PublicQueue
	QueueTwiML  QueueTwiML
	// ValidSignature checks a Twilio webhook: the path with its query, the
	// raw body and the X-Twilio-Signature header.
	ValidSignature func(pathWithQuery string, body []byte, signature string) bool
	// Voice renders the TwiML of calls.
	Voice VoiceTwiML
	// WebhookTimeout bounds the handling of a Twilio webhook, store
	// included; default DefaultWebhookTimeout.
	WebhookTimeout time.Duration
	// RequestTimeout bounds an API request or a console page, store
	// included; default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// WebhookConcurrency bounds the status callbacks and incoming SMS
	// handled at once; default DefaultWebhookConcurrency.
	WebhookConcurrency int
	// PublicURL is the address Twilio reaches Tocsin at, and browsers the
	// console: its origin is the one allowed to post the console's forms and
	// open its websocket, and an https URL makes the cookies Secure.
	PublicURL string
	Logger    *slog.Logger

	// The console: its users, sessions and login throttling, and the live
	// feed of activations for its websocket.
	Users    Users
	Sessions Sessions
	Throttle Throttle
	Activity Activity
	Watch    WatchFunc
	Live     LiveConfig
	// MissesDeadline says whether an open activation's forecast misses its
	// hour, for the live summaries; nil: never said.
	MissesDeadline func(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient) bool
	// AllowedOrigins adds origins (scheme://host[:port]) to PublicURL's.
	AllowedOrigins []string
	// ClientIPHeader names the header a trusted proxy puts the client's
	// address in (X-Forwarded-For, X-Real-IP); empty: the peer's address.
	ClientIPHeader string
	SessionTTL     time.Duration // default DefaultSessionTTL
	Now            func() time.Time
	// SSO signs users in through an identity provider, SSOStore keeping
	// its logins under way and its users; nil shows no such login.
	SSO      SSO
	SSOStore SSOStore
	// SSOLabel names the provider on the login page's button
	// (« Se connecter avec ProConnect »); default « le fournisseur
	// d'identité ».
	SSOLabel string
	// TOTP keeps the users' authenticator applications, asked for after
	// the password of administrators, and of everyone with TOTPForAll;
	// nil asks for none.
	TOTP       SecondFactors
	TOTPForAll bool
	// NoPasswords refuses console passwords: users sign in through
	// the identity provider only, and sessions opened with a password end.
	NoPasswords bool

	// Indicators computes the module 7 indicators; nil hides them.
	Indicators IndicatorsFunc
	// Audit is the audit trail; nil records nothing.
	Audit AuditLog
	// Exercises returns the exercise calendar; nil hides it.
	Exercises ExercisesFunc
	// History imports and exports past activations; nil hides it.
	History History
	// Tokens keeps personal API tokens; nil hides them.
	Tokens Tokens
	// Routes keeps the choice of provider route; nil hides it.
	Routes Routes
	// SecondaryRoute tells whether a secondary provider route is
	// configured.
	SecondaryRoute bool

	// Observer is told webhooks, logins and websocket drops, for metrics;
	// nil observes nothing.
	Observer Observer
	// Metrics serves GET /metrics, outside the API's authentication
	// (restrict it at the network level); nil serves none.
	Metrics http.Handler
}

// Server is Tocsin's HTTP handler.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	table   []Route // what handle registered
	console *console
	refused refusals
	// webhookSlots holds a token for each webhook in progress.
	webhookSlots chan struct{}
}

// NewServer returns the handler with every route.
func NewServer(cfg Config) *Server {
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.WebhookConcurrency <= 0 {
		cfg.WebhookConcurrency = DefaultWebhookConcurrency
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "web"), mux: http.NewServeMux(),
		webhookSlots: make(chan struct{}, cfg.WebhookConcurrency)}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.handle("GET /healthz", public(http.HandlerFunc(s.healthz)))
	s.handle("GET /readyz", public(http.HandlerFunc(s.readyz)))
	if s.cfg.Metrics != nil {
		s.handle("GET /metrics", public(http.HandlerFunc(s.metrics)))
	}

	s.handle("POST /twilio/sms/status", s.webhook(KindSMSStatus, s.smsStatus))
	s.handle("POST /twilio/sms/inbound", s.webhook(KindSMSInbound, s.smsInbound))
	s.handle("POST /twilio/voice/twiml", s.webhook(KindVoiceTwiML, s.voiceTwiML))
	s.handle("POST /twilio/voice/gather", s.webhook(KindVoiceGather, s.voiceGather))
	s.handle("POST /twilio/voice/status", s.webhook(KindVoiceStatus, s.voiceStatus))

	s.handle("GET /api/v1/activations", s.api(anyRole, s.listActivations))
	s.handle("POST /api/v1/activations", s.api(canActivate, s.createActivation))
	s.handle("POST /api/v1/activations/preview", s.api(canActivate, s.previewActivation))
	s.handle("GET /api/v1/activations/{id}", s.api(anyRole, s.getActivation))
	s.handle("POST /api/v1/activations/{id}/close", s.api(canActivate, s.closeActivation))
	s.handle("POST /api/v1/activations/{id}/cip", s.api(canActivate, s.activateCIP))
	s.handle("POST /api/v1/activations/{id}/retex", s.api(canActivate, s.putRetex))
	s.handle("GET /api/v1/activations/{id}/retex", s.api(anyRole, s.getRetex))
	s.handle("POST /api/v1/activations/{id}/recipients/{official}/confirm", s.api(canActivate, s.confirmRecipient))
	s.handle("GET /api/v1/activations/{id}/to-call", s.api(anyRole, s.toCall))
	s.handle("POST /api/v1/activations/{id}/recipients/{official}/claim", s.api(canActivate, s.claimRecipient))
	s.handle("DELETE /api/v1/activations/{id}/recipients/{official}/claim", s.api(canActivate, s.releaseRecipient))
	s.handle("POST /api/v1/activations/{id}/recipients/{official}/calls", s.api(canActivate, s.logCall))
	s.handle("POST /api/v1/activations/{id}/recipients/{official}/rush", s.api(canActivate, s.rushRecipient))
	s.handle("POST /api/v1/activations/{id}/rush", s.api(canActivate, s.rushAll))
	s.handle("POST /api/v1/activations/{id}/messages", s.api(canActivate, s.postMessage))
	s.handle("GET /api/v1/officials", s.api(anyRole, s.listOfficials))
	s.handle("PUT /api/v1/officials", s.api(adminOnly, s.importOfficials))
	s.handle("PUT /api/v1/officials/{official}/numbers", s.api(adminOnly, s.fixNumbers))
	s.handle("GET /api/v1/activations/{id}/replies", s.api(anyRole, s.listReplies))
	s.handle("POST /api/v1/activations/{id}/replies/{seq}/handled", s.api(canActivate, s.handleReply))
	s.handle("GET /api/v1/playbooks", s.api(anyRole, s.listPlaybooks))
	s.handle("GET /api/v1/me", s.api(anyRole, s.me))
	s.handle("GET /api/v1/indicators", s.api(anyRole, s.indicators))
	s.handle("GET /api/v1/audit", s.api(anyRole, s.listAudit))
	s.handle("GET /api/v1/audit/verify", s.api(anyRole, s.verifyAudit))
	s.handle("GET /api/v1/history", s.api(anyRole, s.exportHistory))
	s.handle("POST /api/v1/history", s.api(adminOnly, s.importHistory))
	s.handle("GET /api/v1/exercises", s.api(anyRole, s.listExercises))
	if s.cfg.Tokens != nil {
		s.handle("GET /api/v1/tokens", s.api(anyRole, s.listTokens))
		s.handle("POST /api/v1/tokens", s.api(anyRole, s.postToken))
		s.handle("DELETE /api/v1/tokens/{id}", s.api(anyRole, s.deleteToken))
	}
	if s.cfg.Routes != nil {
		s.handle("GET /api/v1/route", s.api(anyRole, s.getRoute))
		s.handle("PUT /api/v1/route", s.api(canActivate, s.putRoute))
	}
	s.handle("/api/", public(http.HandlerFunc(s.noRoute)))
	s.consoleRoutes()
	s.cipRoutes()
	s.cipCellRoutes()
	s.publicLineRoutes()
}

// noRoute answers an API request no route takes: 405 with the methods the
// path takes, when it takes some; 404 otherwise.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/api/" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.writeError(w, r, tocsin.Errorf(tocsin.EMethod, "%s %s : méthode non prise en charge (%s)", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
		return
	}
	s.writeError(w, r, tocsin.Errorf(tocsin.ENotFound, "pas de route %s %s", r.Method, r.URL.Path))
}

// now is the server's clock.
func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// ServeHTTP recovers from panics so that none reaches a user as a dropped
// connection, and adds the headers every answer carries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			s.writeError(w, r, errors.New("panic"))
		}
	}()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// metrics serves Prometheus' scrape. It asks for no token: the figures
// hold no number, name, message or secret, and /metrics is to be kept off
// the public side at the network level.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	s.cfg.Metrics.ServeHTTP(w, r)
}

// readyz answers 200 only when etcd answers a quorum read.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "etcd injoignable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

type ctxKey int

const userKey ctxKey = 0

// userFrom returns the authenticated user of a request.
func userFrom(ctx context.Context) tocsin.User {
	u, _ := ctx.Value(userKey).(tocsin.User)
	return u
}

// rolePolicy says which roles may use a route; its name is what Routes
// shows.
type rolePolicy struct {
	name  string
	allow func(tocsin.Role) bool
}

var (
	anyRole     = rolePolicy{"anyRole", tocsin.Role.Valid}
	canActivate = rolePolicy{"canActivate", tocsin.Role.CanActivate}
	adminOnly   = rolePolicy{"adminOnly", func(r tocsin.Role) bool { return r == tocsin.RoleAdmin }}
)

// Route is one route the server serves, and who may use it: the table the
// route/role test checks every role against.
type Route struct {
	Pattern string // "GET /api/v1/officials"
	// Guard is what checks the caller: "api" (a bearer token and Policy),
	// "page" (a console session and Policy), "session" (any session, even
	// one waiting for its second factor), "webhook" (Twilio's signature)
	// or "public" (nobody).
	Guard  string
	Policy string // anyRole, canActivate or adminOnly, for api and page
}

// guarded is a handler with who may use it.
type guarded struct {
	guard, policy string
	h             http.HandlerFunc
}

// public serves h to anyone: health, metrics, static files.
func public(h http.Handler) guarded { return guarded{guard: "public", h: h.ServeHTTP} }

// handle registers g for pattern, and notes it in the route table.
func (s *Server) handle(pattern string, g guarded) {
	s.table = append(s.table, Route{Pattern: pattern, Guard: g.guard, Policy: g.policy})
	s.mux.Handle(pattern, g.h)
}

// Routes returns every route the server serves, with who may use it.
func (s *Server) Routes() []Route { return slices.Clone(s.table) }

// api authenticates the bearer token, checks the role, and turns the
// handler's error into a JSON answer.
func (s *Server) api(allowed rolePolicy, h func(w http.ResponseWriter, r *http.Request) error) guarded {
	return guarded{guard: "api", policy: allowed.name, h: func(w http.ResponseWriter, r *http.Request) {
		// Authentication schemes are case-insensitive (RFC 9110): Bearer,
		// bearer, BEARER.
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			s.writeError(w, r, tocsin.Errorf(tocsin.EUnauthorized, "authentification requise (Authorization: Bearer <jeton>)"))
			return
		}
		r, cancel := s.bounded(r)
		defer cancel()
		u, err := s.cfg.Store.UserByToken(r.Context(), strings.TrimSpace(token))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), userKey, u))
		if !allowed.allow(u.Role) {
			s.writeError(w, r, tocsin.Errorf(tocsin.EForbidden, "le rôle %s ne permet pas cette action", u.Role))
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}}
}

// DefaultRequestTimeout bounds an API request or a console page, etcd
// included. A directory import of a few thousand officials takes well
// under a second.
const DefaultRequestTimeout = 10 * time.Second

// bounded puts r under the request deadline: etcd retries while it has no
// quorum, and the caller must get a 503 saying so instead of a request
// that hangs.
func (s *Server) bounded(r *http.Request) (*http.Request, context.CancelFunc) {
	timeout := s.cfg.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	return r.WithContext(ctx), cancel
}

// maxJSON bounds a JSON request body.
const maxJSON = 64 << 10

// decode reads a JSON body strictly: unknown fields and trailing data are
// errors that name what is wrong.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &syn):
			return tocsin.Errorf(tocsin.EInvalid, "JSON invalide à l'octet %d", syn.Offset)
		case errors.As(err, &typ):
			return tocsin.FieldErrorf(tocsin.EInvalid, typ.Field, "type attendu : %s", typ.Type)
		case errors.As(err, &tooBig):
			return tocsin.Errorf(tocsin.EInvalid, "corps de requête trop grand (%d octets au plus)", maxJSON)
		case errors.Is(err, io.EOF):
			return tocsin.Errorf(tocsin.EInvalid, "corps de requête vide : JSON attendu")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return tocsin.FieldErrorf(tocsin.EInvalid, f, "champ inconnu")
		default:
			return tocsin.Errorf(tocsin.EInvalid, "JSON invalide : %v", err)
		}
	}
	if dec.More() {
		return tocsin.Errorf(tocsin.EInvalid, "JSON invalide : données après l'objet")
	}
	return nil
}
