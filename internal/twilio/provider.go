package twilio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// DefaultAPIURL is Twilio's REST API, used when Config.APIURL is empty.
const DefaultAPIURL = "https://api.twilio.com"

// DefaultTimeout bounds one request to Twilio when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// sdkBaseURL is the host twilio-go writes into every request URL and every
// next page URL; the transport replaces it with the configured API URL.
const sdkBaseURL = "https://api.twilio.com"

const redacted = "[redacted]"

var (
	e164Pattern       = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	accountSIDPattern = regexp.MustCompile(`^AC[0-9A-Za-z]+$`)
	serviceSIDPattern = regexp.MustCompile(`^MG[0-9A-Za-z]+$`)
	alphanumeric      = regexp.MustCompile(`^[0-9A-Za-z]+$`)
)

// Config is what the provider needs to reach a Twilio account. Its printed
// and logged forms never show the auth token.
type Config struct {
	// AccountSID is the account's SID (AC…). Required.
	AccountSID string
	// AuthToken is the account's auth token. Required. It is kept out of
	// JSON, logs and printed forms.
	AuthToken string `json:"-"`
	// From is the sending number in E.164 (+33…). Either From or
	// MessagingServiceSID is required; with both, From must belong to the
	// service's sender pool. It must be able to receive replies.
	From string
	// MessagingServiceSID is the Messaging Service (MG…) that picks the
	// sender.
	MessagingServiceSID string
	// CallerID is the number calls come from, in E.164: a Twilio number or
	// a verified caller ID of the account. Empty: From. A Messaging Service
	// cannot place calls, so with neither CallerID nor From, Call fails with
	// ErrNoCallerID.
	CallerID string
	// APIURL is where Twilio's REST API is reached: DefaultAPIURL when
	// empty, or the simulator, a test double, a regional edge. An absolute
	// http or https URL; a path is kept as a prefix of every request path.
	APIURL string
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
}

// Validate reports every problem of c at once, each naming the setting.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.AccountSID == "":
		errs = append(errs, errors.New("twilio: AccountSID is required"))
	case !accountSIDPattern.MatchString(c.AccountSID):
		errs = append(errs, errors.New("twilio: AccountSID must be an account SID (AC followed by letters and digits)"))
	}
	switch {
	case c.AuthToken == "":
		errs = append(errs, errors.New("twilio: AuthToken is required"))
	case !alphanumeric.MatchString(c.AuthToken):
		// twilio-go refuses such a token at every request; say it now.
		errs = append(errs, errors.New("twilio: AuthToken must contain only letters and digits"))
	}
	if c.From == "" && c.MessagingServiceSID == "" {
		errs = append(errs, errors.New("twilio: From or MessagingServiceSID is required"))
	}
	if c.From != "" && !e164Pattern.MatchString(c.From) {
		errs = append(errs, errors.New("twilio: From must be a number in E.164 format, such as +33235000000"))
	}
	if c.CallerID != "" && !e164Pattern.MatchString(c.CallerID) {
		errs = append(errs, errors.New("twilio: CallerID must be a number in E.164 format, such as +33235000000"))
	}
	if c.MessagingServiceSID != "" && !serviceSIDPattern.MatchString(c.MessagingServiceSID) {
		errs = append(errs, errors.New("twilio: MessagingServiceSID must be a Messaging Service SID (MG followed by letters and digits)"))
	}
	if _, err := parseAPIURL(c.APIURL); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("twilio: Timeout must not be negative"))
	}
	return errors.Join(errs...)
}

// parseAPIURL returns the API URL with no trailing slash in its path.
func parseAPIURL(raw string) (*url.URL, error) {
	if raw == "" {
		raw = DefaultAPIURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("twilio: APIURL is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("twilio: APIURL must be an absolute http or https URL, got scheme %q", u.Scheme)
	case u.Host == "":
		return nil, errors.New("twilio: APIURL must name a host")
	case u.User != nil:
		return nil, errors.New("twilio: APIURL must not carry credentials")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("twilio: APIURL must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// String describes c without its auth token.
func (c Config) String() string {
	return fmt.Sprintf("twilio.Config{AccountSID:%s AuthToken:%s From:%s MessagingServiceSID:%s CallerID:%s APIURL:%s Timeout:%s}",
		c.AccountSID, redactedIfSet(c.AuthToken), c.From, c.MessagingServiceSID, c.CallerID, c.APIURL, c.Timeout)
}

// GoString is String: %#v must not print the token either.
func (c Config) GoString() string { return c.String() }

// Format prints String for every verb, so that no verb falls back to
// printing the fields one by one.
func (c Config) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue logs c without its auth token.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account_sid", c.AccountSID),
		slog.String("auth_token", redactedIfSet(c.AuthToken)),
		slog.String("from", c.From),
		slog.String("messaging_service_sid", c.MessagingServiceSID),
		slog.String("caller_id", c.CallerID),
		slog.String("api_url", c.APIURL),
		slog.Duration("timeout", c.Timeout),
	)
}

func redactedIfSet(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// Provider sends SMS and places calls through one Twilio account. It is
// safe for concurrent use. Its printed and logged forms never show the auth
// token.
type Provider struct {
	accountSID string
	from       string
	serviceSID string
	callerID   string // "" when calls cannot be placed
	apiURL     *url.URL
	timeout    time.Duration
	// creds holds the token; Format keeps every print of a Provider away
	// from it.
	creds *client.Credentials
	// pool is shared by all calls and keeps connections alive between them.
	pool *http.Transport
	log  *slog.Logger
	now  func() time.Time
	// pageSize is how many records a listing asks for a page: Twilio's
	// most, so that the replies of 35,000 officials take 35 pages and not
	// 700.
	pageSize int
}

// New validates cfg and returns a provider. A nil logger discards.
func New(cfg Config, logger *slog.Logger) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	api, _ := parseAPIURL(cfg.APIURL)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	callerID := cfg.CallerID
	if callerID == "" {
		callerID = cfg.From
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	pool := &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, IdleConnTimeout: 90 * time.Second}
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		pool = t.Clone()
	}
	// Every request goes to one host, from every dispatch worker at once:
	// keep a connection for each rather than open new ones.
	pool.MaxIdleConnsPerHost = 128
	return &Provider{
		accountSID: cfg.AccountSID,
		from:       cfg.From,
		serviceSID: cfg.MessagingServiceSID,
		callerID:   callerID,
		apiURL:     api,
		timeout:    timeout,
		creds:      client.NewCredentials(cfg.AccountSID, cfg.AuthToken),
		pool:       pool,
		log:        logger.With("component", "twilio"),
		now:        time.Now,
		pageSize:   maxPageSize,
	}, nil
}

// Close releases idle connections. The provider still works after it.
func (p *Provider) Close() error {
	p.pool.CloseIdleConnections()
	return nil
}

// String names the account and endpoint, never the token. String,
// GoString, Format and LogValue take a Provider by value so that printing a
// Provider value, not only a pointer, goes through them too.
func (p Provider) String() string {
	return fmt.Sprintf("twilio.Provider{AccountSID:%s APIURL:%s From:%s MessagingServiceSID:%s CallerID:%s}",
		p.accountSID, p.apiURL, p.from, p.serviceSID, p.callerID)
}

// GoString is String.
func (p Provider) GoString() string { return p.String() }

// Format prints String for every verb.
func (p Provider) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// LogValue logs the account and endpoint, never the token.
func (p Provider) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account_sid", p.accountSID),
		slog.String("api_url", fmt.Sprint(p.apiURL)),
	)
}

// sdk returns an SDK service for one call: its transport sends to the
// configured API URL, is bound to ctx, and records what happened on the
// wire in the returned exchange.
func (p *Provider) sdk(ctx context.Context) (*openapi.ApiService, *exchange) {
	x := &exchange{}
	hc := &http.Client{
		Transport: &callTransport{next: p.pool, api: p.apiURL, ctx: ctx, x: x},
		Timeout:   p.timeout,
		// As twilio-go's own default: a redirect is an answer, not a hop.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := &client.Client{Credentials: p.creds, HTTPClient: hc}
	c.SetAccountSid(p.accountSID)
	// A RequestHandler built by hand, not by NewRequestHandler, so that the
	// SDK does not read TWILIO_EDGE and TWILIO_REGION from the environment.
	return openapi.NewApiService(&client.RequestHandler{Client: c}), x
}
