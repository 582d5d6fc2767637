package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// The primary Twilio account answers 503 to everything during an
// activation of twenty mayors who all reply: after the failover delay the
// secondary account, with its own number, takes over. The few sends made
// on the primary before wait, their outcome unknown, until the primary
// answers again and its records show they did not go out. Every mayor is
// texted exactly once across both accounts and informed by their reply
// (signed with either account's token); the attempts, the timeline, the
// audit trail and the API say which route was taken. Then the duty officer
// forces the primary.
func TestPrimaryAccountFailsTheSecondaryTakesOver(t *testing.T) {
	t.Parallel()
	reply := twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(200 * time.Millisecond)},
		Delivery: twiliosim.Fixed(100 * time.Millisecond)}
	primary := testingutil.MustStartSimulator(t, twiliosim.Config{Profile: reply})
	secondary := testingutil.MustStartSimulator(t, twiliosim.Config{AccountSID: "AC00000000000000000000000000000002",
		AuthToken: "secondarytoken000000000000000002", Profile: reply})
	if err := primary.InjectFault(twiliosim.Fault{Status: http.StatusServiceUnavailable, Count: 100000, Resource: twiliosim.ResourceMessages}); err != nil {
		t.Fatal(err)
	}
	playbooks := t.TempDir()
	writeFile(t, filepath.Join(playbooks, "test.yaml"), testPlaybook)
	cfg := app.Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", PlaybooksDir: playbooks, AdminToken: adminToken,
		EtcdUnsafeNoFsync: true, LeaseTTL: 2, SMSRate: 100, RetryBase: 50 * time.Millisecond, Out: io.Discard,
		TwilioAccountSID: primary.AccountSID(), TwilioAuthToken: primary.AuthToken(), TwilioFrom: "+33639980000", TwilioAPIURL: primary.URL(),
		SecondaryRoute: app.SecondaryRoute{AccountSID: secondary.AccountSID(), AuthToken: secondary.AuthToken(),
			From: "+33639980099", APIURL: secondary.URL()},
		FailoverAfter: 500 * time.Millisecond,
	}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	// Twilio calls back the public URL, known once the app listens.
	cfg.PublicURL = "http://" + freeAddr(t)
	cfg.Listen = strings.TrimPrefix(cfg.PublicURL, "http://")
	a, err := app.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	primary.SetSMSURL(a.URL() + "/twilio/sms/inbound")
	secondary.SetSMSURL(a.URL() + "/twilio/sms/inbound")

	var mayors []tocsin.Official
	for i := range 20 {
		mayors = append(mayors, mayorOf(string(rune('a'+i))+"-ville", mobile(fictionMobile(i))))
	}
	if err := a.Store().ReplaceOfficials(t.Context(), mayors); err != nil {
		t.Fatal(err)
	}
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &v); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	// The first sends failed on the primary, their outcome unknown: they
	// wait until the primary's records can say whether they went out. The
	// rest go by the secondary.
	// How many wait depends on how many sends the primary took before the
	// failover: every mayor is either informed through the secondary or
	// waiting on an attempt of unknown outcome on the primary.
	waitFor(t, a, v.ID, 30*time.Second, "the mayors texted by the secondary informed, the others waiting on the primary", func(v *view) bool {
		waiting := 0
		for _, r := range v.Recipients {
			if n := len(r.Attempts); r.InformedAt == nil && n > 0 && r.Attempts[n-1].Route == "" && r.Attempts[n-1].Status.Unsettled() {
				waiting++
			}
		}
		repliers := map[string]bool{} // a mayor also answers the confirmation of her reply
		for _, m := range secondary.Replies() {
			repliers[m.From] = true
		}
		return v.Summary.Informed > 0 && v.Summary.Informed+waiting == 20 && len(repliers) == v.Summary.Informed
	})
	// The primary comes back: its records settle the sends left unknown
	// (not sent), and they go at last.
	primary.ClearFaults()
	final := waitFor(t, a, v.ID, 30*time.Second, "every mayor informed", func(v *view) bool { return v.Summary.Informed == 20 })
	onSecondary := 0
	for _, r := range final.Recipients {
		n := r.Official.Numbers[0].E164
		p, s := len(testingutil.Alerts(primary, n)), len(testingutil.Alerts(secondary, n))
		if p+s != 1 {
			t.Errorf("%s: %d SMS on the primary, %d on the secondary; want exactly one in all", n, p, s)
		}
		if want := map[bool]string{true: "secondary", false: ""}[s == 1]; r.Attempts[0].Route != want || r.InformedFrom != n {
			t.Errorf("%s: attempt on route %q, informed from %q; want %q, by the mayor's reply", n, r.Attempts[0].Route, r.InformedFrom, want)
		}
		onSecondary += s
	}
	// The confirmations of the replies went by the secondary too: only the
	// alerts are counted.
	alerts := view{Timeline: slices.DeleteFunc(slices.Clone(final.Timeline), func(e tocsin.Event) bool { return e.Kind == tocsin.EventNotice })}
	if onSecondary < 17 || strings.Count(timelineText(&alerts), "route de secours") != onSecondary {
		t.Errorf("%d mayors texted by the secondary; the timeline says so %d times", onSecondary, strings.Count(timelineText(&alerts), "route de secours"))
	}
	var route struct {
		Choice    tocsin.RouteChoice `json:"choice"`
		Active    string             `json:"active"`
		Secondary bool               `json:"secondary"`
	}
	// Back on the primary, which answers again.
	testingutil.Eventually(t, 10*time.Second, "GET /api/v1/route to say the primary is active again", func() bool {
		api(t, a, "GET", "/api/v1/route", nil, &route)
		return route.Active == "primary"
	})
	if route.Choice.Mode != "auto" || !route.Secondary {
		t.Errorf("route %+v, want automatic with a secondary", route)
	}

	// The duty officer forces the primary; a wrong mode is refused.
	var refused struct {
		Error struct{ Field, Message string } `json:"error"`
	}
	if st := api(t, a, "PUT", "/api/v1/route", map[string]string{"mode": "tertiary"}, &refused); st != http.StatusBadRequest || refused.Error.Field != "mode" {
		t.Errorf("PUT route tertiary: %d %+v, want 400 on the mode", st, refused)
	}
	if st := api(t, a, "PUT", "/api/v1/route", map[string]string{"mode": "primary"}, &route); st != http.StatusOK || route.Choice.Mode != "primary" || route.Choice.By != "admin" {
		t.Errorf("PUT route primary: %d %+v", st, route)
	}
	// From the console, the duty officer sees the route and chooses.
	b := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	if st, html := b.get("/"); st != http.StatusOK || !strings.Contains(html, "Route d'envoi") || !strings.Contains(html, `value="primary" checked`) {
		t.Errorf("dashboard (status %d) does not show the route panel with the primary chosen", st)
	}
	if st, _, _ := b.postCSRF("/route", url.Values{"mode": {"auto"}}); st != http.StatusSeeOther {
		t.Errorf("POST /route: status %d, want 303", st)
	}
	if api(t, a, "GET", "/api/v1/route", nil, &route); route.Choice.Mode != "auto" || route.Choice.By != "permanence" {
		t.Errorf("after the console's choice: %+v, want auto by permanence", route.Choice)
	}
	var trail struct {
		Entries []tocsin.AuditEntry `json:"entries"`
	}
	api(t, a, "GET", "/api/v1/audit?limit=1000", nil, &trail)
	var routeEntries []string
	for _, e := range trail.Entries {
		if e.Action == tocsin.AuditRoute {
			routeEntries = append(routeEntries, e.Actor+" : "+e.Detail)
		}
	}
	all := strings.Join(routeEntries, "\n")
	if len(routeEntries) < 3 || !strings.Contains(all, "envois par la route de secours") || !strings.Contains(all, "répond de nouveau") ||
		!strings.Contains(all, "route principale imposée") {
		t.Errorf("audit trail's route entries: %q; want the switch to the secondary, the way back, and the officer's choice", routeEntries)
	}
}

// freeAddr returns a loopback address no one listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ports, err := etcd.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", ports[0])
}

func timelineText(v *view) string {
	var b strings.Builder
	for _, e := range v.Timeline {
		b.WriteString(e.Detail + "\n")
	}
	return b.String()
}
