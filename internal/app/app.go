// Package app wires Tocsin together: etcd (embedded or external), the
// store, the Twilio provider (or the in-process simulator), the activation
// service, the leader's dispatch and the HTTP server. It builds everything
// by hand in Open and tears it down in reverse in Close; it reads no
// environment and takes no signals, so tests run the whole app.
package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/directory"
	"github.com/prefecture76/tocsin/internal/dispatch"
	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/exercise"
	"github.com/prefecture76/tocsin/internal/indicator"
	"github.com/prefecture76/tocsin/internal/playbook"
	"github.com/prefecture76/tocsin/internal/prometheus"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twilio"
	"github.com/prefecture76/tocsin/internal/twiliosim"
	"github.com/prefecture76/tocsin/internal/web"
)

// Config is everything Tocsin needs to run. cmd/tocsin fills it from flags
// and TOCSIN_* variables.
type Config struct {
	DataDir   string // embedded etcd's data, default DefaultDataDir
	Listen    string // HTTP address, default DefaultListen
	PublicURL string // the address Twilio calls back; default http://<listen address>
	// DebugListen serves Go's profiles (/debug/pprof/) on this address;
	// empty serves none. Keep it off any public network.
	DebugListen string

	EtcdEndpoints              []string // external cluster; empty starts an embedded member in DataDir
	EtcdPrefix                 string   // default /tocsin/
	EtcdCA, EtcdCert, EtcdKey  string
	EtcdUsername, EtcdPassword string
	EtcdUnsafeNoFsync          bool // tests only
	NodeID                     string
	LeaseTTL                   int // leader session lease in seconds, default DefaultLeaseTTL

	// Simulator runs the Twilio simulator in-process and sends to it; the
	// Twilio settings below are then ignored.
	Simulator           bool
	SimulatorProfile    *twiliosim.Profile // default twiliosim.DemoProfile()
	SimulatorDelayScale float64            // scales the virtual officials' delays; 0 keeps the profile's
	TwilioAccountSID    string
	TwilioAuthToken     string
	TwilioFrom          string
	TwilioMessagingSID  string
	TwilioAPIURL        string
	TwilioCallerID      string // the number calls come from; default TwilioFrom
	TwilioVoice         string // the voice calls speak with, e.g. Polly.Lea; default Twilio's fr-FR voice
	// SecondaryRoute takes over when the primary account fails every send
	// for FailoverAfter (default dispatch.DefaultFailoverAfter); unused
	// with the simulator.
	SecondaryRoute SecondaryRoute
	FailoverAfter  time.Duration

	PlaybooksDir  string // default ./playbooks
	AdminToken    string // the first administrator's token when the store has no user
	DemoDirectory bool   // load the demo directory when the directory is empty
	// DemoActivation launches an exercise of ExercisePlaybook on the demo
	// directory when this replica loads it (a first start on an empty
	// store), so that the console opens on a live activation.
	DemoActivation bool
	// FoldTypography replaces typographic punctuation by GSM-7 equivalents
	// in messages (never letters).
	FoldTypography bool
	SMSRate        float64 // messages per second
	CallRate       float64 // calls per second
	MaxCalls       int     // calls in progress at once
	Workers        int
	// CreationPart is how many recipients an activation is written with
	// before its first messages leave, and then at a time; 0 means
	// activation.DefaultPartSize.
	CreationPart int
	// RetryBase is the first delay after a provider's refusal for now
	// (429, 5xx), doubled at each try; 0 means 2 s.
	RetryBase time.Duration

	// ReconcileInterval is how often the leader reconciles open
	// activations with the provider's records (replies and statuses whose
	// webhooks were lost); 0 means reconcile.DefaultInterval.
	ReconcileInterval time.Duration
	// WebhookTimeout bounds a Twilio webhook's handling; 0 means
	// web.DefaultWebhookTimeout.
	WebhookTimeout time.Duration
	// RequestTimeout bounds an API request or a console page; 0 means
	// web.DefaultRequestTimeout.
	RequestTimeout time.Duration
	// WebhookConcurrency bounds the webhooks handled at once; 0 means
	// web.DefaultWebhookConcurrency.
	WebhookConcurrency int

	// CIPDelay is the public information cell's announced delay; 0 means 1 h.
	CIPDelay time.Duration
	// ClaimFor is how long a duty officer holds an official they call by
	// hand (« J'appelle »); 0 means tocsin.DefaultClaimFor.
	ClaimFor time.Duration

	// ExerciseSchedule holds the cron specs of the scheduled exercises, in
	// Paris time; empty means exercise.DefaultSpecs (four a year).
	ExerciseSchedule []string
	// ExerciseScheduleSince is when the exercise schedule started, before
	// Tocsin kept it (its first start): the runs due from then on that
	// nothing records count as not held. Zero: from Tocsin's first start.
	ExerciseScheduleSince time.Time
	// ExercisePlaybook is the playbook a due exercise launches; empty only
	// records the run as due for the duty officer to launch.
	ExercisePlaybook string

	// SSO is the login through an OpenID Connect provider; off when its
	// issuer is empty.
	SSO SSOConfig
	// NoLocalPasswords refuses console passwords: only the identity
	// provider signs users in (API tokens still work).
	NoLocalPasswords bool
	// SecondFactorForAll asks every console password for a code of an
	// authenticator application (TOTP); administrators always give one.
	SecondFactorForAll bool
	// SecondFactorKey (32 bytes) seals the applications' secrets in etcd;
	// empty: they are stored as they are (and never shown again).
	SecondFactorKey []byte
	// SessionTTL is how long a console session lasts; default 12 h.
	SessionTTL time.Duration
	// AllowedOrigins adds origins (scheme://host[:port]) the console may be
	// opened from to PublicURL's.
	AllowedOrigins []string
	// ClientIPHeader names the header a trusted proxy sets to the client's
	// address, for login throttling; empty: the peer's address.
	ClientIPHeader string

	// MetricsCacheFor is how long /metrics serves the open activations'
	// figures before reading them from the store again; 0 means
	// prometheus.DefaultCacheFor.
	MetricsCacheFor time.Duration
	// AuditVerifyAfter and AuditVerifyEvery say when the leader verifies
	// the audit trail: once after taking the lead, then periodically; 0
	// means DefaultAuditVerifyAfter and DefaultAuditVerifyEvery.
	AuditVerifyAfter, AuditVerifyEvery time.Duration
	// AuditSigningKey signs checkpoints of the audit trail's head, kept
	// outside etcd; nil: no checkpoints, and verify says the trail is not
	// anchored. Never stored nor logged.
	AuditSigningKey ed25519.PrivateKey
	// AuditPublicKeys are the keys verify also accepts checkpoints from:
	// earlier signing keys, after a rotation.
	AuditPublicKeys []ed25519.PublicKey
	// AuditCheckpoints is this replica's checkpoint file; default
	// DefaultAuditCheckpointsFile in DataDir.
	AuditCheckpoints string
	// AuditCheckpointEvery is how often a checkpoint is signed when the
	// head moved; 0 means DefaultAuditCheckpointEvery.
	AuditCheckpointEvery time.Duration
	// AuditCheckpointSyslog, when set, sends every checkpoint to a syslog
	// daemon too (facility authpriv, tag tocsin-audit): "local", or
	// udp://host:port, tcp://host:port, unix:///path, unixgram:///path.
	AuditCheckpointSyslog string

	// Clock drives everything that waits or stamps time: dispatch's
	// timers, the timeline, the simulator's virtual officials. Default the
	// wall clock; tests move a twiliosim.ManualClock.
	Clock  tocsin.Clock
	Logger *slog.Logger
	Out    io.Writer // where a generated admin token is printed, once; default os.Stdout
}

// Defaults of a replica on one machine.
const (
	DefaultDataDir = "tocsin-data"
	DefaultListen  = "127.0.0.1:8080"
)

// DefaultLeaseTTL is the leader's session lease, in seconds: how long a
// crashed leader holds the role before another replica takes over. Two
// seconds keep failover under three (the lease, then the new leader's first
// send); the session's keep-alive goes every third of it, so a replica
// must stall for the whole lease to lose the role, and then the fence
// keeps it from writing.
const DefaultLeaseTTL = 2

// App is a running Tocsin replica.
type App struct {
	cfg Config
	log *slog.Logger
	// demoLoaded is set when this replica loaded the demo directory.
	demoLoaded bool

	lock     *os.File
	embedded *etcd.Embedded
	cli      *clientv3.Client
	store    *etcd.Store
	// open reads the open activations and their recipients for the
	// periodic readers (reconciliation, /metrics), paying for what
	// changed since the last read.
	open       openActivations
	sim        *twiliosim.Server
	provider   *twilio.Provider
	service    *activation.Service
	audit      *audit.Log
	dispatcher *dispatch.Dispatcher
	exercises  *exercise.Runner
	playbooks  []tocsin.Playbook
	listener   net.Listener
	http       *http.Server
	debug      *http.Server // profiles, when DebugListen is set
	web        *web.Server
	publicURL  string
	routes     routes
	metrics    *prometheus.Metrics
	syslog     *syslog.Writer

	cancel context.CancelFunc
	// bg is the context of work that outlives its request (the rest of a
	// creation); bgCancel ends it when the replica stops.
	bg       context.Context
	bgCancel context.CancelFunc
	wg       sync.WaitGroup
	leader   sync.Mutex
	isLead   bool
}

// New checks cfg and fills its defaults. It starts nothing.
func New(cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.PlaybooksDir == "" {
		cfg.PlaybooksDir = "playbooks"
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.SMSRate == 0 {
		cfg.SMSRate = tocsin.DefaultRates.SMSPerSecond
	}
	if cfg.CallRate == 0 {
		cfg.CallRate = tocsin.DefaultRates.CallsPerSecond
	}
	if cfg.MaxCalls == 0 {
		cfg.MaxCalls = tocsin.DefaultRates.MaxCalls
	}
	if cfg.Clock == nil {
		cfg.Clock = tocsin.WallClock{}
	}
	if cfg.NodeID == "" {
		host, _ := os.Hostname()
		cfg.NodeID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	var problems []string
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, "public-url: absolute http(s) URL expected")
		}
	}
	if !cfg.Simulator {
		if cfg.TwilioAccountSID == "" || cfg.TwilioAuthToken == "" {
			problems = append(problems, "twilio-account-sid and twilio-auth-token are required unless the simulator is used")
		}
		if cfg.PublicURL == "" {
			problems = append(problems, "public-url is required with real Twilio: it is the address Twilio calls back")
		}
	}
	if cfg.SMSRate < 0 || cfg.CallRate < 0 || cfg.MaxCalls < 0 {
		problems = append(problems, "sms-rate, call-rate and max-calls must be positive")
	}
	if cfg.LeaseTTL < 2 {
		problems = append(problems, "lease-ttl must be at least 2 seconds")
	}
	if cfg.WebhookConcurrency < 0 {
		problems = append(problems, "webhook-concurrency must be positive")
	}
	problems = append(problems, ssoProblems(cfg)...)
	if n := len(cfg.SecondFactorKey); n != 0 && n != 32 {
		problems = append(problems, fmt.Sprintf("second-factor-key-file: 32 bytes expected (base64), got %d", n))
	}
	a := &App{cfg: cfg, log: cfg.Logger, metrics: prometheus.New(cfg.NodeID)}
	var err error
	if a.exercises, err = a.newExerciseRunner(); err != nil {
		problems = append(problems, "exercise-schedule: "+tocsin.ErrorMessage(err))
	}
	if since := cfg.ExerciseScheduleSince; !since.IsZero() && (since.Year() < 2000 || since.After(cfg.Clock.Now())) {
		problems = append(problems, "exercise-schedule-since : une date passée, à partir de 2000")
	}
	if len(problems) > 0 {
		return nil, errors.New("configuration: " + strings.Join(problems, "; "))
	}
	return a, nil
}

// Open starts everything and returns once the HTTP server listens.
func (a *App) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	cfg := &a.cfg
	pbs, err := playbook.LoadDir(cfg.PlaybooksDir, playbook.Reference{
		Commune:         func(insee string) bool { _, ok := directory.CommuneByINSEE(insee); return ok },
		Arrondissements: directory.Arrondissements(),
		Near:            func(lat, lon, km float64) bool { return len(directory.CommunesWithin(lat, lon, km)) > 0 },
	})
	if err != nil {
		if _, serr := os.Stat(cfg.PlaybooksDir); serr != nil {
			return fmt.Errorf("playbooks folder %q not found: give it with --playbooks (TOCSIN_PLAYBOOKS)", cfg.PlaybooksDir)
		}
		return fmt.Errorf("playbooks: %w", err)
	}
	a.playbooks = pbs

	endpoints := cfg.EtcdEndpoints
	if len(endpoints) == 0 {
		if a.lock, err = lockDataDir(cfg.DataDir); err != nil {
			return err
		}
		dir := filepath.Join(cfg.DataDir, "etcd")
		a.embedded, err = etcd.StartEmbedded(etcd.EmbeddedConfig{Dir: dir, UnsafeNoFsync: cfg.EtcdUnsafeNoFsync})
		if err != nil {
			return err
		}
		endpoints = a.embedded.Endpoints()
		a.log.Info("embedded etcd started", "dir", dir)
	}
	a.cli, err = etcd.Connect(etcd.ClientConfig{Endpoints: endpoints, CAFile: cfg.EtcdCA, CertFile: cfg.EtcdCert,
		KeyFile: cfg.EtcdKey, Username: cfg.EtcdUsername, Password: cfg.EtcdPassword, Observe: a.metrics.EtcdRequest})
	if err != nil {
		return err
	}
	a.store = etcd.NewStore(a.cli, cfg.EtcdPrefix, cfg.Clock.Now)
	a.open = openActivations{a.store, a.store.FollowRecipients()}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = a.store.Ping(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("etcd at %s: %w", strings.Join(endpoints, ","), err)
	}

	a.listener, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.DebugListen != "" {
		if err := a.serveDebug(cfg.DebugListen); err != nil {
			return err
		}
	}
	a.publicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if a.publicURL == "" {
		a.publicURL = "http://" + a.listener.Addr().String()
	}

	if err := a.bootstrap(ctx); err != nil {
		return err
	}
	if err := a.openProvider(); err != nil {
		return err
	}
	if err := a.openSecondary(); err != nil {
		return err
	}

	a.bg, a.bgCancel = context.WithCancel(context.Background())
	a.audit = audit.New(a.store, cfg.Clock.Now, a.log)
	a.audit.Observer = auditObserver{a.metrics}
	if a.audit.Anchor, err = a.openAnchor(); err != nil {
		return err
	}
	a.service = activation.New(activation.Config{
		Store:          a.store,
		CIP:            a.store,
		PublicLine:     a.store,
		Queue:          a.store,
		CallOperator:   a.callOperator,
		History:        a.store,
		Playbooks:      func() []tocsin.Playbook { return a.playbooks },
		Render:         render,
		Rates:          a.rates(),
		FoldTypography: cfg.FoldTypography,
		CIPDelay:       cfg.CIPDelay,
		ClaimFor:       cfg.ClaimFor,
		Now:            cfg.Clock.Now,
		Logger:         a.log,
		Audit:          a.audit,
		Retex:          a.store,
		Pace:           a.store.Pace,
		NotHeld:        a.notHeld,
		Creations:      a.store,
		Directory:      a.store,
		Inbox:          a.store,
		PartSize:       cfg.CreationPart,
		Go:             a.background,
	})
	if a.demoLoaded && cfg.DemoActivation && cfg.ExercisePlaybook != "" {
		if err := a.demoActivation(ctx); err != nil {
			a.log.Warn("no demo activation", "err", err) // the demo only
		}
	}
	a.dispatcher = dispatch.New(dispatch.Config{
		SMS:           a.provider,
		Voice:         a.provider,
		URLs:          webhookURLs{a.publicURL},
		Rates:         a.rates(),
		Workers:       cfg.Workers,
		RetryBase:     cfg.RetryBase,
		Clock:         cfg.Clock,
		Logger:        a.log,
		Ping:          a.provider.Ping,
		Secondary:     a.dispatchSecondary(),
		FailoverAfter: cfg.FailoverAfter,
		RouteMode:     a.routeMode,
		RouteChanged:  a.routeChanged,
		Observer:      dispatchObserver{a.metrics},
	})
	validator, err := twilio.NewValidator(a.authToken(), a.publicURL)
	if err != nil {
		return err
	}
	validSignature, err := a.validSignature(validator)
	if err != nil {
		return err
	}
	sso, err := a.openSSO()
	if err != nil {
		return err
	}
	factors, err := a.secondFactors()
	if err != nil {
		return err
	}
	srv := web.NewServer(web.Config{
		Activations:        a.service,
		Calls:              a.service,
		Rushes:             a.service,
		Inbound:            a.service,
		Retexes:            a.service,
		Store:              a.store,
		Playbooks:          func() []tocsin.Playbook { return a.playbooks },
		ParseOfficials:     directory.ParseCSV,
		ParseNumbers:       directory.ParseNumbers,
		Fixes:              a.service,
		Replies:            a.service,
		Messages:           a.service,
		MissesDeadline:     a.service.MissesDeadline,
		ValidSignature:     validSignature,
		Voice:              voiceTwiML{voice: cfg.TwilioVoice},
		WebhookTimeout:     cfg.WebhookTimeout,
		RequestTimeout:     cfg.RequestTimeout,
		WebhookConcurrency: cfg.WebhookConcurrency,
		PublicURL:          a.publicURL,
		Logger:             a.log,
		Users:              a.store,
		Sessions:           a.store,
		Throttle:           a.store,
		Activity:           a.store,
		Watch:              a.watchActivity,
		ClientIPHeader:     cfg.ClientIPHeader,
		AllowedOrigins:     cfg.AllowedOrigins,
		SessionTTL:         cfg.SessionTTL,
		SSO:                sso,
		SSOStore:           a.store,
		SSOLabel:           cfg.SSO.Label,
		NoPasswords:        cfg.NoLocalPasswords,
		TOTP:               factors,
		TOTPForAll:         cfg.SecondFactorForAll,
		Now:                cfg.Clock.Now,
		Indicators:         a.indicators,
		Audit:              a.audit,
		Exercises:          a.exerciseCalendar,
		History:            a.service,
		Routes:             a.store,
		Tokens:             a.store,
		SecondaryRoute:     a.routes.secondary != nil,
		Observer:           webObserver{a.metrics},
		Metrics:            a.metrics.Handler(),

		// The CIP: its roster, its cells, its public line.
		CIP:               a.store,
		ParseOperators:    directory.ParseOperatorsCSV,
		CIPCells:          a.service,
		PublicLine:        a.service,
		PublicLineTwiML:   publicLineTwiML{voice: cfg.TwilioVoice}.line,
		PublicDialedTwiML: publicLineTwiML{voice: cfg.TwilioVoice}.dialed,
		PublicQueue:       a.service,
		QueueTwiML:        publicLineTwiML{voice: cfg.TwilioVoice},
	})
	a.web = srv
	a.metrics.Watch(a.metricsState(srv.LiveClients))
	a.http = &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.http.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", "err", err)
		}
	}()

	rctx, rcancel := context.WithCancel(context.Background())
	a.cancel = rcancel
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		srv.Run(rctx) // the console's live feed
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.lead(rctx)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.followDirectory(rctx)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.checkpointAuditTrail(rctx)
	}()
	a.log.Info("tocsin ready", "url", a.publicURL, "node", cfg.NodeID, "playbooks", len(pbs),
		"provider", map[bool]string{true: "simulator", false: "twilio"}[cfg.Simulator])
	return nil
}

// bootstrap creates the first administrator and the demo directory.
func (a *App) bootstrap(ctx context.Context) error {
	has, err := a.store.HasUsers(ctx)
	if err != nil {
		return err
	}
	if !has {
		token := a.cfg.AdminToken
		generated := token == ""
		if generated {
			token = randomToken()
		}
		err := a.store.CreateUserWithToken(ctx, tocsin.User{Name: "admin", Role: tocsin.RoleAdmin}, token)
		if err != nil && tocsin.ErrorCode(err) != tocsin.EConflict {
			return fmt.Errorf("create first administrator: %w", err)
		}
		if err == nil && generated {
			password, err := a.firstPassword(ctx, "admin")
			if err != nil {
				return err
			}
			fmt.Fprintf(a.cfg.Out, "\nJeton de l'administrateur (affiché une seule fois, gardez-le) :\n\n    %s\n\n", token)
			fmt.Fprintf(a.cfg.Out, "Console : identifiant « admin », mot de passe (affiché une seule fois) :\n\n    %s\n\n", password)
			fmt.Fprintf(a.cfg.Out, "À la première connexion, la console demande d'activer la double authentification (une application TOTP : FreeOTP, Aegis…).\n\n")
		}
	}
	if a.cfg.DemoDirectory {
		os, err := a.store.Officials(ctx)
		if err != nil {
			return err
		}
		if len(os) == 0 {
			demo := directory.Demo()
			err := a.store.ReplaceOfficials(ctx, demo)
			switch {
			case tocsin.ErrorCode(err) == tocsin.EConflict:
				// Replicas started together: another one loaded it.
				a.log.Info("demo directory loaded by another replica")
			case err != nil:
				return fmt.Errorf("load demo directory: %w", err)
			default:
				a.log.Info("demo directory loaded", "officials", len(demo))
				a.demoLoaded = true
			}
		}
		ops, err := a.store.Operators(ctx)
		if err != nil {
			return err
		}
		if len(ops) == 0 {
			// Two replicas starting together both write the same roster.
			demo := directory.DemoOperators()
			if err := a.store.ReplaceOperators(ctx, demo, tocsin.AuditEntry{Actor: DemoUser, Action: tocsin.AuditCIPRoster,
				Detail: fmt.Sprintf("liste de démonstration des opérateurs de la CIP chargée : %d opérateurs", len(demo))}); err != nil {
				return fmt.Errorf("load demo cip roster: %w", err)
			}
			a.log.Info("demo cip roster loaded", "operators", len(demo))
		}
	}
	return nil
}

// DemoUser is the name the demo activation is launched under.
const DemoUser = "démonstration"

// demoActivation launches an exercise on the demo directory.
func (a *App) demoActivation(ctx context.Context) error {
	v, err := a.service.Create(ctx, tocsin.User{Name: DemoUser, Role: tocsin.RoleOfficer}, activation.Request{
		Playbook: a.cfg.ExercisePlaybook, Exercise: true,
		Note: "Démonstration : les élus de l'annuaire de démonstration sont fictifs et répondent par le simulateur.",
	})
	if err != nil {
		return fmt.Errorf("demo activation: %w", err)
	}
	a.log.Info("demo activation launched", "activation", v.ID, "playbook", a.cfg.ExercisePlaybook, "targeted", v.Targeted)
	if err := a.demoCIP(ctx, v.ID); err != nil {
		a.log.Warn("no demo cip", "activation", v.ID, "err", err) // the demo only
	}
	return nil
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// openProvider starts the simulator when asked, and the Twilio provider.
func (a *App) openProvider() error {
	cfg := &a.cfg
	tc := twilio.Config{
		AccountSID:          cfg.TwilioAccountSID,
		AuthToken:           cfg.TwilioAuthToken,
		From:                cfg.TwilioFrom,
		MessagingServiceSID: cfg.TwilioMessagingSID,
		APIURL:              cfg.TwilioAPIURL,
		CallerID:            cfg.TwilioCallerID,
	}
	if cfg.Simulator {
		sid, token := make([]byte, 16), make([]byte, 16)
		rand.Read(sid)
		rand.Read(token)
		profile := twiliosim.DemoProfile()
		if cfg.SimulatorProfile != nil {
			profile = *cfg.SimulatorProfile
		}
		if cfg.SimulatorDelayScale != 0 {
			profile.DelayScale = cfg.SimulatorDelayScale
		}
		var err error
		a.sim, err = twiliosim.Start("127.0.0.1:0", twiliosim.Config{
			AccountSID: "AC" + hex.EncodeToString(sid),
			AuthToken:  hex.EncodeToString(token), // twilio-go takes alphanumeric credentials only
			SMSURL:     a.publicURL + "/twilio/sms/inbound",
			Profile:    profile,
			Clock:      cfg.Clock,
			Logger:     a.log,
		})
		if err != nil {
			return fmt.Errorf("start simulator: %w", err)
		}
		tc.AccountSID, tc.AuthToken, tc.APIURL = a.sim.AccountSID(), a.sim.AuthToken(), a.sim.URL()
		tc.From, tc.MessagingServiceSID, tc.CallerID = "+33639980000", "", ""
		a.log.Info("twilio simulator started", "url", a.sim.URL())
	}
	p, err := twilio.New(tc, a.log)
	if err != nil {
		return err
	}
	a.provider = p
	return nil
}

func (a *App) authToken() string {
	if a.sim != nil {
		return a.sim.AuthToken()
	}
	return a.cfg.TwilioAuthToken
}

// voiceTwiML renders calls with the Twilio provider's builders.
type voiceTwiML struct{ voice string }

func (v voiceTwiML) prompt(text, twimlURL, gatherURL string) twilio.Prompt {
	return twilio.Prompt{Text: text, TwiMLURL: twimlURL, GatherURL: gatherURL, Voice: v.voice}
}

func (v voiceTwiML) Message(text, twimlURL, gatherURL string, play int) (string, error) {
	return twilio.MessageTwiML(v.prompt(text, twimlURL, gatherURL), play)
}

func (v voiceTwiML) WrongKey(text, twimlURL, gatherURL string, play int) (string, error) {
	return twilio.WrongKeyTwiML(v.prompt(text, twimlURL, gatherURL), play)
}

func (v voiceTwiML) Confirmed() (string, error)       { return twilio.ConfirmTwiML(v.voice) }
func (v voiceTwiML) AlreadyInformed() (string, error) { return twilio.AlreadyInformedTwiML(v.voice) }
func (v voiceTwiML) Play(q url.Values) (int, error)   { return twilio.ParsePlay(q) }

// rates are the provider limits dispatch keeps to.
func (a *App) rates() tocsin.Rates {
	return tocsin.Rates{SMSPerSecond: a.cfg.SMSRate, CallsPerSecond: a.cfg.CallRate, MaxCalls: a.cfg.MaxCalls}
}

// webhookURLs are the addresses Twilio calls back for an attempt; the
// query names the attempt.
type webhookURLs struct{ base string }

func (u webhookURLs) url(path, activation, official, attempt string) string {
	q := url.Values{"a": {activation}, "o": {official}, "t": {attempt}}
	return u.base + path + "?" + q.Encode()
}

func (u webhookURLs) SMSStatus(activation, official, attempt string) string {
	return u.url("/twilio/sms/status", activation, official, attempt)
}

func (u webhookURLs) CallStatus(activation, official, attempt string) string {
	return u.url("/twilio/voice/status", activation, official, attempt)
}

func (u webhookURLs) TwiML(activation, official, attempt string) string {
	return u.url("/twilio/voice/twiml", activation, official, attempt)
}

// render compiles a playbook's message once per activation and fills it
// for each official.
func render(pb *tocsin.Playbook, act *tocsin.Activation) (func(o *tocsin.Official, spoken, deputy bool) (string, error), error) {
	t, err := playbook.Compile(pb)
	if err != nil {
		return nil, err
	}
	return func(o *tocsin.Official, spoken, deputy bool) (string, error) {
		return t.Render(playbook.MessageData{
			Commune: o.CommuneName, INSEE: o.Commune, Name: o.Name, Role: o.Role,
			Title: act.Title, Code: act.Code, At: act.ActivatedAt, Exercise: act.Exercise, Note: act.Note,
			Spoken: spoken, ForDeputy: deputy,
		})
	}, nil
}

// lead campaigns for leadership and dispatches while leader, again and
// again until ctx ends.
func (a *App) lead(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		l, err := a.store.Campaign(ctx, a.cfg.NodeID, a.cfg.LeaseTTL)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("campaign", "err", err)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = time.Second
		a.setLeader(true)
		a.log.Info("leader: dispatching", "node", a.cfg.NodeID)
		dctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-l.Done():
				a.log.Warn("leader session lost: dispatch stops")
				cancel()
			case <-dctx.Done():
			}
		}()
		var ex sync.WaitGroup
		ex.Go(func() { a.runExercises(dctx, l.Store) })
		ex.Go(func() { a.recordRecipientChanges(dctx) })
		ex.Go(func() { a.keepStore(dctx, l.Store) })
		ex.Go(func() { a.reconcileWithProvider(dctx) })
		ex.Go(func() { a.verifyAuditTrail(dctx) })
		ex.Go(func() { a.publishPace(dctx, l.Store) })
		ex.Go(func() { a.followRouteChoice(dctx) })
		ex.Go(func() { a.finishCreations(dctx) })
		a.resumeRoute(dctx)
		err = a.dispatcher.Run(dctx, l.Store)
		cancel()
		ex.Wait()
		a.setLeader(false)
		if err != nil {
			a.log.Warn("dispatch ended", "err", err)
		}
		rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
		l.Resign(rctx)
		rcancel()
	}
}

func (a *App) setLeader(v bool) {
	a.leader.Lock()
	a.isLead = v
	a.leader.Unlock()
	a.metrics.Leader(v)
}

// IsLeader reports whether this replica dispatches.
func (a *App) IsLeader() bool {
	a.leader.Lock()
	defer a.leader.Unlock()
	return a.isLead
}

// Routes returns every route the HTTP server serves, with who may use it.
func (a *App) Routes() []web.Route { return a.web.Routes() }

// URL returns the address Tocsin is reached at.
func (a *App) URL() string { return a.publicURL }

// Simulator returns the in-process simulator, nil with real Twilio.
func (a *App) Simulator() *twiliosim.Server { return a.sim }

// indicators computes the module 7 indicators from the store.
func (a *App) indicators(ctx context.Context, months []indicator.Month) (indicator.Report, error) {
	return indicator.Load(ctx, a.store, months, a.missedExercises, a.cfg.Clock.Now())
}

// Audit returns the audit trail.
func (a *App) Audit() *audit.Log { return a.audit }

// Store returns the store.
func (a *App) Store() *etcd.Store { return a.store }

// Dispatcher returns the dispatcher.
func (a *App) Dispatcher() *dispatch.Dispatcher { return a.dispatcher }

// Close stops everything in reverse order: leadership is resigned so
// another replica takes over at once.
func (a *App) Close() error {
	if a.cancel != nil {
		a.cancel()
	}
	if a.bgCancel != nil {
		a.bgCancel()
	}
	var errs []error
	if a.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop http server: %w", err))
		}
		cancel()
	} else if a.listener != nil {
		if err := a.listener.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close listener: %w", err))
		}
	}
	if a.debug != nil {
		if err := a.debug.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop debug server: %w", err))
		}
	}
	a.wg.Wait()
	closeWith := func(what string, close func() error) {
		if err := close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", what, err))
		}
	}
	if a.sim != nil {
		closeWith("simulator", a.sim.Close)
	}
	if a.provider != nil {
		closeWith("twilio provider", a.provider.Close)
	}
	if a.routes.secondary != nil {
		closeWith("secondary twilio provider", a.routes.secondary.Close)
	}
	if a.audit != nil && a.audit.Anchor != nil && a.audit.Anchor.File != nil {
		closeWith("audit checkpoint file", a.audit.Anchor.File.Close)
	}
	if a.syslog != nil {
		closeWith("syslog", a.syslog.Close)
	}
	if a.cli != nil {
		closeWith("etcd client", a.cli.Close)
	}
	if a.embedded != nil {
		a.embedded.Close()
	}
	if a.lock != nil {
		closeWith("data folder lock", a.lock.Close)
	}
	return errors.Join(errs...)
}
