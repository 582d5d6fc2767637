// Command tocsin runs the crisis communication service of the prefecture.
//
//	tocsin [serve] [flags]
//
// Every flag can also be set by a TOCSIN_* environment variable: --sms-rate
// is TOCSIN_SMS_RATE. A flag given on the command line wins.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/dispatch"
	"github.com/prefecture76/tocsin/internal/exercise"
	"github.com/prefecture76/tocsin/internal/oidc"
	"github.com/prefecture76/tocsin/internal/reconcile"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/web"
)

const usage = `usage:
  tocsin [serve] [flags]   run a replica (tocsin serve -h lists the flags)
  tocsin health [--url U]  exit 0 when the replica at U is ready (for health checks)
  tocsin users add NAME --role ROLE | users passwd NAME | users reset-2fa NAME
                           create a console user, reset a password or a second factor (tocsin users -h)
  tocsin indicators [--from 2026-01] [--to 2026-03] [--format table|csv|json|html]
                           the module 7 indicators, month by month
  tocsin audit verify | audit export [--format csv|json]
                           check the audit trail's hash chain, or export it
  tocsin history import FILE | history export [--from 2026-01] [--to 2026-03] [-o FILE]
                           import past activations and exercises, or export them (JSON Lines)
  tocsin exercises [--format table|json]
                           the exercise calendar: next scheduled, past runs, missed
  tocsin retex ACTIVATION [--file retex.txt]
                           print an exercise's RETEX, or record it from a file
  tocsin tokens list | tokens create NAME [--role auditor] [--days N] | tokens revoke ID
                           your personal API tokens`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tocsin:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "health":
		return health(ctx, args, getenv, stdout, stderr)
	case "users":
		return users(ctx, args, getenv, os.Stdin, stdout, stderr)
	case "indicators":
		return indicators(ctx, args, getenv, stdout, stderr)
	case "audit":
		return auditCmd(ctx, args, getenv, stdout, stderr)
	case "history":
		return historyCmd(ctx, args, getenv, stdout, stderr)
	case "exercises":
		return exercises(ctx, args, getenv, stdout, stderr)
	case "retex":
		return retexCmd(ctx, args, getenv, os.Stdin, stdout, stderr)
	case "tokens":
		return tokensCmd(ctx, args, getenv, stdout, stderr)
	case "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

// envFlags binds flags to TOCSIN_* variables: a variable that is set
// changes the flag's default, so the command line still wins.
type envFlags struct {
	fs      *flag.FlagSet
	getenv  func(string) string
	errs    []string
	secrets []secret
}

func envName(flagName string) string {
	return "TOCSIN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (e *envFlags) String(p *string, name, def, usage string) {
	if v := e.getenv(envName(name)); v != "" {
		def = v
	}
	e.fs.StringVar(p, name, def, usage+" ["+envName(name)+"]")
}

// Secret binds a flag whose value must never be printed: the variable is
// read after parsing instead of becoming the default -h shows.
func (e *envFlags) Secret(p *string, name, usage string) {
	e.fs.StringVar(p, name, "", usage+" ["+envName(name)+"]")
	e.secrets = append(e.secrets, secret{p, name})
}

type secret struct {
	p    *string
	name string
}

// applySecrets fills the secrets not given on the command line.
// server declares --url and --token, the flags of every subcommand that
// asks a running replica: by default the one a default `tocsin serve`
// listens on.
func (e *envFlags) server(base, token *string) {
	e.String(base, "url", "http://"+app.DefaultListen, "address of a running Tocsin replica")
	e.Secret(token, "token", "an API token (prefer TOCSIN_TOKEN)")
}

func (e *envFlags) applySecrets() {
	set := map[string]bool{}
	e.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, s := range e.secrets {
		if !set[s.name] {
			*s.p = e.getenv(envName(s.name))
		}
	}
}

func (e *envFlags) Bool(p *bool, name string, def bool, usage string) {
	if v := e.getenv(envName(name)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Sprintf("%s=%q: true or false expected", envName(name), v))
		}
		def = b
	}
	e.fs.BoolVar(p, name, def, usage+" ["+envName(name)+"]")
}

func (e *envFlags) Float(p *float64, name string, def float64, usage string) {
	if v := e.getenv(envName(name)); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			e.errs = append(e.errs, fmt.Sprintf("%s=%q: a number expected", envName(name), v))
		}
		def = f
	}
	e.fs.Float64Var(p, name, def, usage+" ["+envName(name)+"]")
}

func (e *envFlags) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	if v := e.getenv(envName(name)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Sprintf("%s=%q: a duration expected, such as 12h", envName(name), v))
		}
		def = d
	}
	e.fs.DurationVar(p, name, def, usage+" ["+envName(name)+"]")
}

func (e *envFlags) Int(p *int, name string, def int, usage string) {
	if v := e.getenv(envName(name)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Sprintf("%s=%q: an integer expected", envName(name), v))
		}
		def = n
	}
	e.fs.IntVar(p, name, def, usage+" ["+envName(name)+"]")
}

// The call limits the demo uses with the simulator, unless set.
const (
	simulatorMaxCalls = 50
	simulatorCallRate = 5
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tocsin serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &envFlags{fs: fs, getenv: getenv}
	var cfg app.Config
	var endpoints, provider, logLevel, logFormat, exerciseSchedule, scheduleSince, origins string
	var auditKeyFile, auditKey, auditPublicKeys string
	var oidcSecretFile, oidcScopes, factorKeyFile string
	localPasswords := true
	f.String(&cfg.DataDir, "data-dir", app.DefaultDataDir, "folder of the embedded etcd member")
	f.String(&cfg.Listen, "listen", app.DefaultListen, "HTTP address")
	f.String(&cfg.PublicURL, "public-url", "", "address Tocsin is reached at, used by Twilio's callbacks (default http://<listen>)")
	f.String(&cfg.DebugListen, "debug-listen", "", "address serving Go's profiles (/debug/pprof/) for operators; empty serves none")
	f.String(&endpoints, "etcd-endpoints", "", "comma-separated etcd endpoints; empty starts an embedded member in --data-dir")
	f.String(&cfg.EtcdPrefix, "etcd-prefix", "/tocsin/", "key prefix in etcd")
	f.String(&cfg.EtcdCA, "etcd-ca", "", "CA certificate of the etcd cluster (PEM file)")
	f.String(&cfg.EtcdCert, "etcd-cert", "", "client certificate for etcd (PEM file)")
	f.String(&cfg.EtcdKey, "etcd-key", "", "client key for etcd (PEM file)")
	f.String(&cfg.EtcdUsername, "etcd-username", "", "etcd user")
	f.Secret(&cfg.EtcdPassword, "etcd-password", "etcd password (prefer the environment variable)")
	f.String(&cfg.NodeID, "node-id", "", "name of this replica in the leader election (default host-pid)")
	f.Int(&cfg.LeaseTTL, "lease-ttl", app.DefaultLeaseTTL, "leader session lease, seconds: how long a crashed leader holds the role")
	f.String(&provider, "provider", "", "sms provider: simulator or twilio (default: twilio when an account SID is given, else simulator)")
	f.String(&cfg.TwilioAccountSID, "twilio-account-sid", "", "Twilio account SID")
	f.Secret(&cfg.TwilioAuthToken, "twilio-auth-token", "Twilio auth token (prefer the environment variable; never printed)")
	f.String(&cfg.TwilioFrom, "twilio-from", "", "sender number, E.164, able to receive replies")
	f.String(&cfg.TwilioMessagingSID, "twilio-messaging-service-sid", "", "Messaging Service SID, instead of --twilio-from")
	f.String(&cfg.TwilioCallerID, "twilio-caller-id", "", "number calls come from, E.164 (default --twilio-from)")
	f.String(&cfg.SecondaryRoute.AccountSID, "twilio-secondary-account-sid", "", "secondary route: another Twilio account (or the same one with --twilio-secondary-api-url for another region/edge) that takes over when the primary fails")
	f.Secret(&cfg.SecondaryRoute.AuthToken, "twilio-secondary-auth-token", "secondary route's auth token (never printed)")
	f.String(&cfg.SecondaryRoute.From, "twilio-secondary-from", "", "secondary route's two-way sending number, E.164")
	f.String(&cfg.SecondaryRoute.MessagingSID, "twilio-secondary-messaging-service-sid", "", "secondary route's Messaging Service, instead of --twilio-secondary-from")
	f.String(&cfg.SecondaryRoute.CallerID, "twilio-secondary-caller-id", "", "number the secondary route's calls come from (default --twilio-secondary-from)")
	f.String(&cfg.SecondaryRoute.APIURL, "twilio-secondary-api-url", "https://api.twilio.com", "secondary route's API base URL: another region or edge, e.g. https://api.dublin.ie1.twilio.com")
	f.Duration(&cfg.FailoverAfter, "route-failover-after", dispatch.DefaultFailoverAfter, "how long the primary route must fail every send (5xx, timeouts, refused credentials) before the secondary takes over; also how often a failed primary is tried again")
	f.String(&cfg.TwilioVoice, "twilio-voice", "", "voice calls speak with, e.g. Polly.Lea (default Twilio's fr-FR voice)")
	f.String(&cfg.TwilioAPIURL, "twilio-api-url", "https://api.twilio.com", "Twilio API base URL (any Twilio-compatible endpoint)")
	f.Float(&cfg.SimulatorDelayScale, "sim-delay-scale", 0, "simulator: scale of the virtual officials' reply delays (0.1 = ten times faster; 0 keeps the profile's)")
	f.String(&cfg.PlaybooksDir, "playbooks", "playbooks", "folder of the playbooks (*.yaml)")
	f.Secret(&cfg.AdminToken, "admin-token", "token of the first administrator, used only when the store has no user")
	f.Bool(&cfg.DemoDirectory, "demo-directory", false, "load the demo directory (fictional mayors of Seine-Maritime) when the directory is empty; on by default with the simulator")
	f.Bool(&cfg.DemoActivation, "demo-activation", false, "with the demo directory just loaded, launch an exercise of --exercise-playbook on it; on by default with the simulator")
	f.Float(&cfg.SMSRate, "sms-rate", tocsin.DefaultRates.SMSPerSecond, "SMS per second handed to the provider (the account's limit)")
	f.Float(&cfg.CallRate, "call-rate", tocsin.DefaultRates.CallsPerSecond, "calls per second placed (the account's limit)")
	f.Int(&cfg.MaxCalls, "max-calls", tocsin.DefaultRates.MaxCalls, "calls in progress at once (the account's limit)")
	f.Bool(&cfg.FoldTypography, "sms-fold-typography", true, "replace typographic punctuation (’ « » …) by GSM-7 equivalents in SMS, never letters")
	f.Int(&cfg.Workers, "workers", 32, "sends in flight at once")
	f.Duration(&cfg.ReconcileInterval, "reconcile-interval", reconcile.DefaultInterval, "how often the leader reads back from Twilio the replies and statuses whose webhooks were lost (also at takeover and when etcd comes back)")
	f.Duration(&cfg.RequestTimeout, "request-timeout", web.DefaultRequestTimeout, "bound on an API request or a console page; past it, or with etcd unavailable, the answer is 503")
	f.Int(&cfg.WebhookConcurrency, "webhook-concurrency", web.DefaultWebhookConcurrency, "Twilio status callbacks and incoming SMS handled at once; the others wait for their turn within --webhook-timeout, then answer 503 (a call's webhooks never wait)")
	f.Duration(&cfg.WebhookTimeout, "webhook-timeout", web.DefaultWebhookTimeout, "bound on a Twilio webhook's handling; past it, or with etcd unavailable, the webhook answers 503 (Twilio's fallback URL is tried)")
	f.Duration(&cfg.CIPDelay, "cip-delay", time.Hour, "announced delay to activate the public information cell (CIP)")
	f.Duration(&cfg.ClaimFor, "claim-for", tocsin.DefaultClaimFor, "how long « J'appelle » holds an official for the duty officer who calls them by hand, unless released")
	f.String(&exerciseSchedule, "exercise-schedule", strings.Join(exercise.DefaultSpecs, ";"), "scheduled exercises: cron specs (minute hour day month weekday) in Paris time, separated by ;")
	f.String(&scheduleSince, "exercise-schedule-since", "", "date (AAAA-MM-JJ, Paris) the exercise schedule started, before Tocsin kept it: the runs due since then that nothing records count as not held; empty: from Tocsin's first start")
	f.String(&cfg.ExercisePlaybook, "exercise-playbook", "exercice-trimestriel", "playbook a due exercise launches in exercise mode; empty: the duty officer is told to launch it")
	f.String(&origins, "allowed-origins", "", "other origins (scheme://host[:port], comma-separated) the console may be opened from, besides --public-url's: e.g. the address browsers use when Twilio reaches Tocsin by another name")
	f.String(&cfg.ClientIPHeader, "client-ip-header", "", "header a trusted proxy sets to the client's address (e.g. X-Real-IP), for login throttling; empty: the peer's address")
	f.Duration(&cfg.SessionTTL, "session-ttl", 12*time.Hour, "how long a console session lasts")
	f.String(&auditKeyFile, "audit-key-file", "", "file of the Ed25519 private key that signs checkpoints of the audit trail (tocsin audit keygen); without a key, none are made")
	f.Secret(&auditKey, "audit-key", "the checkpoint private key itself, PEM or its base64 body, instead of --audit-key-file (prefer the environment variable; never printed)")
	f.String(&auditPublicKeys, "audit-public-keys", "", "earlier checkpoint keys verify still accepts after a rotation, comma-separated: ed25519:… or files")
	f.String(&cfg.AuditCheckpoints, "audit-checkpoints", "", "this replica's append-only checkpoint file (default <data-dir>/"+app.DefaultAuditCheckpointsFile+")")
	f.Duration(&cfg.AuditCheckpointEvery, "audit-checkpoint-interval", app.DefaultAuditCheckpointEvery, "how often the audit trail's head is signed into the checkpoint file, when it moved")
	f.String(&cfg.AuditCheckpointSyslog, "audit-checkpoint-syslog", "", "also send every checkpoint to syslog (authpriv, tag tocsin-audit): local, or a server at udp://host:514, tcp://host:514, unix:///path")
	f.String(&cfg.SSO.Issuer, "oidc-issuer", "", "single sign-on: issuer URL of the OpenID Connect provider (e.g. ProConnect's); empty: no single sign-on")
	f.String(&cfg.SSO.ClientID, "oidc-client-id", "", "single sign-on: Tocsin's client id at the provider")
	f.Secret(&cfg.SSO.ClientSecret, "oidc-client-secret", "single sign-on: client secret (prefer the environment variable or --oidc-client-secret-file; never printed)")
	f.String(&oidcSecretFile, "oidc-client-secret-file", "", "single sign-on: file holding the client secret (a mounted secret)")
	f.String(&cfg.SSO.GroupsClaim, "oidc-groups-claim", "groups", "single sign-on: ID token claim that lists the user's groups")
	f.String(&cfg.SSO.RoleMap, "oidc-role-map", "", "single sign-on: groups to roles, e.g. grp-cod=officer,grp-audit=auditor,grp-admin=admin; a user with no mapped group is refused")
	f.String(&cfg.SSO.RedirectURL, "oidc-redirect-url", "", "single sign-on: callback registered at the provider (default <public-url>/connexion/sso/retour)")
	f.String(&oidcScopes, "oidc-scopes", strings.Join(oidc.DefaultScopes, ","), "single sign-on: scopes asked for, comma-separated")
	f.String(&cfg.SSO.Label, "oidc-label", "", "single sign-on: the provider's name on the login button, e.g. ProConnect (default « le fournisseur d'identité »)")
	f.Bool(&cfg.SecondFactorForAll, "second-factor-all", false, "ask every console password for a code of an authenticator application (TOTP); administrators are always asked")
	f.String(&factorKeyFile, "second-factor-key-file", "", "file holding a key (32 bytes, base64: head -c 32 /dev/urandom | base64) that seals the authenticator applications' secrets in etcd; keep it out of etcd's backups")
	f.Bool(&localPasswords, "local-passwords", true, "console passwords allowed; false: the identity provider only (API tokens still work)")
	f.String(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.String(&logFormat, "log-format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.applySecrets()
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if len(f.errs) > 0 {
		return errors.New(strings.Join(f.errs, "; "))
	}
	if err := auditKeys(&cfg, auditKeyFile, auditKey, auditPublicKeys); err != nil {
		return err
	}
	logger, err := newLogger(stderr, logLevel, logFormat)
	if err != nil {
		return err
	}
	cfg.Logger, cfg.Out = logger, stdout
	cfg.NoLocalPasswords = !localPasswords
	if oidcSecretFile != "" {
		if cfg.SSO.ClientSecret != "" {
			return errors.New("--oidc-client-secret and --oidc-client-secret-file: give only one")
		}
		b, err := os.ReadFile(oidcSecretFile)
		if err != nil {
			return fmt.Errorf("--oidc-client-secret-file: %w", err)
		}
		cfg.SSO.ClientSecret = strings.TrimSpace(string(b))
	}
	if factorKeyFile != "" {
		b, err := os.ReadFile(factorKeyFile)
		if err != nil {
			return fmt.Errorf("--second-factor-key-file: %w", err)
		}
		if cfg.SecondFactorKey, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err != nil {
			return errors.New("--second-factor-key-file: base64 expected (head -c 32 /dev/urandom | base64)")
		}
	}
	for _, s := range strings.Split(oidcScopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.SSO.Scopes = append(cfg.SSO.Scopes, s)
		}
	}
	for _, e := range strings.Split(endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			cfg.EtcdEndpoints = append(cfg.EtcdEndpoints, e)
		}
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.AllowedOrigins = append(cfg.AllowedOrigins, o)
		}
	}
	if scheduleSince != "" {
		d, err := time.ParseInLocation("2006-01-02", scheduleSince, tocsin.Paris())
		if err != nil {
			return fmt.Errorf("--exercise-schedule-since %q : une date AAAA-MM-JJ attendue, par exemple 2026-01-01", scheduleSince)
		}
		cfg.ExerciseScheduleSince = d
	}
	for _, spec := range strings.Split(exerciseSchedule, ";") {
		if spec = strings.TrimSpace(spec); spec != "" {
			cfg.ExerciseSchedule = append(cfg.ExerciseSchedule, spec)
		}
	}
	switch provider {
	case "":
		cfg.Simulator = cfg.TwilioAccountSID == ""
	case "simulator":
		cfg.Simulator = true
	case "twilio":
	default:
		return fmt.Errorf("--provider %q: simulator or twilio expected", provider)
	}
	explicit := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { explicit[fl.Name] = true })
	for name, on := range map[string]*bool{"demo-directory": &cfg.DemoDirectory, "demo-activation": &cfg.DemoActivation} {
		if cfg.Simulator && !explicit[name] && getenv(envName(name)) == "" {
			*on = true
		}
	}
	// The simulator is not a Twilio account with a handful of lines: unless
	// told otherwise, the demo calls at the pace a large account allows.
	if cfg.Simulator && !explicit["max-calls"] && getenv(envName("max-calls")) == "" {
		cfg.MaxCalls = simulatorMaxCalls
	}
	if cfg.Simulator && !explicit["call-rate"] && getenv(envName("call-rate")) == "" {
		cfg.CallRate = simulatorCallRate
	}

	a, err := app.New(cfg)
	if err != nil {
		return err
	}
	if err := a.Open(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Tocsin écoute sur %s\n", a.URL())
	<-ctx.Done()
	logger.Info("stopping")
	return a.Close()
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: debug, info, warn or error expected", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: text or json expected", format)
	}
}

// health asks a replica's /readyz, for container and systemd health checks
// on images that have no HTTP client.
func health(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tocsin health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &envFlags{fs: fs, getenv: getenv}
	var listen, target string
	f.String(&listen, "listen", app.DefaultListen, "address the replica listens on")
	fs.StringVar(&target, "url", "", "readiness URL (default http://<listen>/readyz)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if target == "" {
		host := listen
		if strings.HasPrefix(host, "0.0.0.0:") || strings.HasPrefix(host, ":") {
			host = "127.0.0.1:" + host[strings.LastIndex(host, ":")+1:]
		}
		target = "http://" + host + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s answered %d", target, resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}
