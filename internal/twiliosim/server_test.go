package twiliosim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStartRefusesBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{AccountSID: "AC123"},
		{AuthToken: "has spaces"},
		{SMSURL: "/relative"},
		{Numbers: []string{"0235000001"}},
		{MessagesPerSecond: -1},
		{Profile: Profile{Default: Persona{Behaviour: "asleep"}}},
	} {
		if srv, err := Start("127.0.0.1:0", cfg); err == nil {
			srv.Close()
			t.Errorf("Start(%+v) accepted", cfg)
		}
	}
	if _, err := Start("256.0.0.1:0", Config{}); err == nil {
		t.Error("Start on a bad address succeeded")
	}
}

func TestDefaultsAndClose(t *testing.T) {
	srv := mustStart(t, Config{})
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Errorf("URL = %s", srv.URL())
	}
	api := twilioAPI(t, srv, DefaultAccountSID, DefaultAuthToken)
	if _, err := api.FetchAccount(DefaultAccountSID); err != nil {
		t.Errorf("default credentials: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	c := http.Client{Timeout: time.Second}
	if _, err := c.Get(srv.URL() + "/sim/stats"); err == nil {
		t.Error("still serving after Close")
	}
}

func TestSetProfile(t *testing.T) {
	clock := NewManualClock(time.Now())
	prof := Profile{Numbers: map[string]Persona{mayor: {Behaviour: Landline}}}
	srv, api := start(t, Config{Clock: clock, Profile: prof})
	prof.Numbers[mayor] = Persona{Behaviour: Silent} // the simulator keeps its own copy
	if _, err := api.CreateMessage(smsParams(mayor)); restError(t, err).Code != 21614 {
		t.Fatalf("landline: %v", err)
	}
	if err := srv.SetProfile(Profile{Default: Persona{Behaviour: "asleep"}}); err == nil {
		t.Error("SetProfile took an invalid profile")
	}
	if err := srv.SetProfile(Profile{}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateMessage(smsParams(mayor)); err != nil {
		t.Errorf("after SetProfile: %v", err)
	}
}
