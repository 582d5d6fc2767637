package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// replica runs one Tocsin replica on a shared etcd and a shared Twilio
// simulator; stop ends it (once), as a leader that goes away.
type replica struct {
	*app.App
	stop func()
}

// retry is the replica's first delay before it settles an unknown outcome.
func startReplica(t *testing.T, node string, endpoints []string, sim *twiliosim.Server, playbooks string, retry time.Duration) *replica {
	t.Helper()
	cfg := app.Config{
		NodeID: node, EtcdEndpoints: endpoints, PlaybooksDir: playbooks, AdminToken: adminToken,
		LeaseTTL: 2, SMSRate: 100, RetryBase: retry, Out: io.Discard,
		TwilioAccountSID: sim.AccountSID(), TwilioAuthToken: sim.AuthToken(), TwilioFrom: "+33639980000", TwilioAPIURL: sim.URL(),
	}
	cfg.PublicURL = "http://" + freeAddr(t)
	cfg.Listen = strings.TrimPrefix(cfg.PublicURL, "http://")
	a, err := app.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	r := &replica{App: a, stop: func() { once.Do(func() { a.Close() }) }}
	t.Cleanup(r.stop)
	return r
}

// The mayor of Dieppe acknowledges on replica A, the leader: A records
// her confirmation and hands it to Twilio, which takes it but answers an
// error — the outcome is unknown. A goes away before it settles it; B
// leads, finds the confirmation in Twilio's records and does not send it
// again. The same for the « fin d'alerte » the duty officer sends on A.
// The simulator's record: the alert, and the notice once.
func TestANoticeOfUnknownOutcomeIsSettledByTheNextLeaderNotResent(t *testing.T) {
	t.Parallel()
	t.Run("the confirmation of a reply", func(t *testing.T) {
		notice := string(tocsin.NoticeConfirmation)
		leaderGoesAwayWithANoticeUnsettled(t, notice, func(a *replica, sim *twiliosim.Server, id string) {
			form := url.Values{"MessageSid": {"SMack1"}, "From": {fictionMobile(1)}, "To": {"+33639980000"}, "Body": {"Bonjour, bien reçu"}}
			path := "/twilio/sms/inbound"
			req, _ := http.NewRequest("POST", a.URL()+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", twiliosim.Signature(sim.AuthToken(), a.URL()+path, form))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("reply webhook: status %d", resp.StatusCode)
			}
			testingutil.ExpectSMS(t, sim, fictionMobile(1), "Réception confirmée")
		})
	})
	t.Run("the end of the alert", func(t *testing.T) {
		leaderGoesAwayWithANoticeUnsettled(t, "m1", func(a *replica, sim *twiliosim.Server, id string) {
			if st := api(t, a.App, "POST", "/api/v1/activations/"+id+"/messages", map[string]string{"text": "Fin d'alerte."}, nil); st != http.StatusCreated {
				t.Fatalf("message: status %d", st)
			}
			testingutil.ExpectSMS(t, sim, fictionMobile(1), "Fin d'alerte.")
		})
	})
}

// leaderGoesAwayWithANoticeUnsettled runs replicas A (the leader) and B
// over one silent mayor, lets send make A send the notice with id while
// Twilio answers an error to a message it took, stops A with the notice
// unsettled, and checks that B settles it from Twilio's records without
// sending it again.
func leaderGoesAwayWithANoticeUnsettled(t *testing.T, id string, send func(a *replica, sim *twiliosim.Server, activation string)) {
	store := testingutil.MustStartEtcd(t)
	// Deliveries take a minute: no status callback settles the notice
	// while the test runs, only Twilio's records can.
	sim := testingutil.MustStartSimulator(t, twiliosim.Config{Profile: twiliosim.Profile{Delivery: twiliosim.Fixed(time.Minute)}})
	playbooks := t.TempDir()
	writeFile(t, filepath.Join(playbooks, "test.yaml"), testPlaybook)
	// A would settle it two seconds later: it is gone long before.
	a := startReplica(t, "a", store.Endpoints(), sim, playbooks, 2*time.Second)
	testingutil.Eventually(t, 10*time.Second, "replica a leads", a.IsLeader)
	b := startReplica(t, "b", store.Endpoints(), sim, playbooks, time.Second)
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{mayorOf("dieppe", mobile(fictionMobile(1)))}); err != nil {
		t.Fatal(err)
	}
	var v view
	if st := api(t, a.App, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &v); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	testingutil.ExpectSMS(t, sim, fictionMobile(1), "Alerte de test")

	// Twilio records the next message and answers 500.
	if err := sim.InjectFault(twiliosim.Fault{Status: http.StatusInternalServerError, Resource: twiliosim.ResourceMessages, AfterCreate: true}); err != nil {
		t.Fatal(err)
	}
	send(a, sim, v.ID)
	waitFor(t, b.App, v.ID, 10*time.Second, "the notice written, its outcome unknown", func(v *view) bool {
		n := v.Recipients[0].Notice(id)
		return n != nil && n.Tries == 1 && n.SID == "" && n.NextTry != nil
	})
	a.stop()
	// A went away with the notice unsettled: only B can settle it.
	if r, err := b.Store().Recipient(t.Context(), v.ID, "dieppe"); err != nil || r.Notice(id).SID != "" {
		t.Fatalf("after A stopped: %v, %+v; want the notice still unsettled", err, r)
	}
	testingutil.Eventually(t, 10*time.Second, "replica b leads", b.IsLeader)

	final := waitFor(t, b.App, v.ID, 15*time.Second, "the notice settled from Twilio's records", func(v *view) bool {
		n := v.Recipients[0].Notice(id)
		return n != nil && n.SID != ""
	})
	recovered := 0
	for _, e := range final.Timeline {
		if e.Kind == tocsin.EventRecovered && e.Attempt == id {
			recovered++
		}
	}
	if recovered != 1 {
		t.Errorf("%d events of the notice found at Twilio, want 1:\n%s", recovered, timelineText(final))
	}
	testingutil.Eventually(t, 5*time.Second, "dispatch idle on b", b.Dispatcher().Idle)
	testingutil.ExpectSMSCounts(t, sim, map[string]int{fictionMobile(1): 2})
	if r := final.Recipients[0]; len(r.Attempts) != 1 || len(r.Notices) != 1 {
		t.Errorf("Dieppe: %d attempts, %d notices; want the alert and the notice", len(r.Attempts), len(r.Notices))
	}
}
