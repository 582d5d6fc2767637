package twiliosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

func TestCreateFetchMessageThroughTwilioGo(t *testing.T) {
	clock := NewManualClock(time.Date(2024, 4, 30, 8, 15, 2, 0, time.UTC))
	srv, api := start(t, Config{Clock: clock})

	m := sendSMS(t, api, mayor, "EXERCICE inondation à Dieppe : répondez OK", "")
	if !strings.HasPrefix(str(m.Sid), "SM") || len(str(m.Sid)) != 34 {
		t.Errorf("sid = %q, want SM followed by 32 hex digits", str(m.Sid))
	}
	for name, got := range map[string]string{
		"status":       str(m.Status),
		"direction":    str(m.Direction),
		"to":           str(m.To),
		"from":         str(m.From),
		"account_sid":  str(m.AccountSid),
		"api_version":  str(m.ApiVersion),
		"num_segments": str(m.NumSegments),
		"num_media":    str(m.NumMedia),
		"date_created": str(m.DateCreated),
		"uri":          str(m.Uri),
		"date_sent":    str(m.DateSent),
	} {
		want := map[string]string{
			"status":       "queued",
			"direction":    "outbound-api",
			"to":           mayor,
			"from":         testFrom,
			"account_sid":  testSID,
			"api_version":  "2010-04-01",
			"num_segments": "1",
			"num_media":    "0",
			"date_created": "Tue, 30 Apr 2024 08:15:02 +0000",
			"uri":          "/2010-04-01/Accounts/" + testSID + "/Messages/" + str(m.Sid) + ".json",
			"date_sent":    "<nil>",
		}[name]
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if m.ErrorCode != nil {
		t.Errorf("error_code = %d, want null", *m.ErrorCode)
	}

	clock.Advance(time.Second)
	got, err := api.FetchMessage(str(m.Sid), nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(got.Status) != "delivered" || str(got.DateSent) != "Tue, 30 Apr 2024 08:15:02 +0000" {
		t.Errorf("after delivery: status %q date_sent %q, want delivered, the send time", str(got.Status), str(got.DateSent))
	}
	if _, err := time.Parse(time.RFC1123Z, str(got.DateUpdated)); err != nil {
		t.Errorf("date_updated %q is not RFC 1123: %v", str(got.DateUpdated), err)
	}

	_, err = api.FetchMessage("SM00000000000000000000000000000000", nil)
	if e := restError(t, err); e.Status != 404 || e.Code != 20404 {
		t.Errorf("fetch unknown: got %d/%d, want 404/20404", e.Status, e.Code)
	}
	if n := len(srv.MessagesTo(mayor)); n != 1 {
		t.Errorf("MessagesTo(mayor) has %d messages, want 1", n)
	}
}

func TestListMessagesPagesThroughTwilioGo(t *testing.T) {
	clock := NewManualClock(time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC))
	_, api := start(t, Config{Clock: clock})

	var sids []string
	for i := range 7 {
		sids = append(sids, str(sendSMS(t, api, mayor, fmt.Sprintf("message %d", i), "").Sid))
		sendSMS(t, api, deputy, "other", "")
		clock.Advance(time.Second)
	}

	got, err := api.ListMessage((&openapi.ListMessageParams{}).SetTo(mayor).SetPageSize(3))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 {
		t.Fatalf("listed %d messages to the mayor over pages of 3, want 7", len(got))
	}
	for i, m := range got {
		if want := sids[len(sids)-1-i]; str(m.Sid) != want {
			t.Errorf("item %d = %s, want %s (newest first)", i, str(m.Sid), want)
		}
	}

	limited, err := api.ListMessage((&openapi.ListMessageParams{}).SetPageSize(2).SetLimit(5))
	if err != nil {
		t.Fatal(err)
	}
	if len(limited) != 5 {
		t.Errorf("limit 5 listed %d", len(limited))
	}

	all, err := api.ListMessage((&openapi.ListMessageParams{}).SetFrom(testFrom))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 14 {
		t.Errorf("listed %d messages from %s, want 14", len(all), testFrom)
	}
}

func TestListMessagesPageURIs(t *testing.T) {
	srv, api := start(t, Config{})
	for i := range 5 {
		sendSMS(t, api, mayor, fmt.Sprint(i), "")
	}
	base := srv.URL() + "/2010-04-01/Accounts/" + testSID + "/Messages.json"
	get := func(u string) openapi.ListMessageResponse {
		t.Helper()
		resp, body := do(t, "GET", u, "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
		}
		var l openapi.ListMessageResponse
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatal(err)
		}
		return l
	}

	p0 := get(base + "?To=%2B33639980001&PageSize=2")
	if p0.Page != 0 || p0.PageSize != 2 || p0.Start != 0 || p0.End != 1 || len(p0.Messages) != 2 || p0.PreviousPageUri != nil || p0.NextPageUri == nil {
		t.Fatalf("first page = %+v", p0)
	}
	wantFirst := "/2010-04-01/Accounts/" + testSID + "/Messages.json?To=%2B33639980001&PageSize=2&Page=0"
	if p0.FirstPageUri != wantFirst || p0.Uri != wantFirst {
		t.Errorf("first_page_uri %q uri %q, want %q", p0.FirstPageUri, p0.Uri, wantFirst)
	}
	p1 := get(srv.URL() + *p0.NextPageUri)
	if p1.Page != 1 || p1.Start != 2 || p1.End != 3 || p1.PreviousPageUri == nil {
		t.Fatalf("second page = %+v", p1)
	}
	p2 := get(srv.URL() + *p1.NextPageUri)
	if len(p2.Messages) != 1 || p2.NextPageUri != nil {
		t.Fatalf("last page: %d messages, next %v; want 1 and none", len(p2.Messages), p2.NextPageUri)
	}
	back := get(srv.URL() + *p2.PreviousPageUri)
	if str(back.Messages[0].Sid) != str(p1.Messages[0].Sid) || str(back.Messages[1].Sid) != str(p1.Messages[1].Sid) {
		t.Errorf("previous of the last page is not the second page")
	}
	// A message created while paging does not shift the pages.
	sendSMS(t, api, mayor, "late", "")
	again := get(srv.URL() + *p0.NextPageUri)
	if str(again.Messages[0].Sid) != str(p1.Messages[0].Sid) {
		t.Errorf("next page moved when a message was added")
	}
	// Offset paging without a token, as Page alone.
	byOffset := get(base + "?To=%2B33639980001&PageSize=2&Page=1")
	if len(byOffset.Messages) != 2 || byOffset.Start != 2 {
		t.Errorf("Page=1 without token: %+v", byOffset)
	}

	for _, q := range []string{"PageSize=x", "Page=-1", "PageToken=nope", "PageToken=PASM00000000000000000000000000000000", "DateSent=yesterday"} {
		resp, body := do(t, "GET", base+"?"+q, "", "")
		if resp.StatusCode != 400 || !strings.Contains(string(body), `"code":20001`) {
			t.Errorf("GET ?%s: %d %s, want 400 with code 20001", q, resp.StatusCode, body)
		}
	}
}

func TestListMessagesDateSentIsDayGranular(t *testing.T) {
	day := time.Date(2024, 4, 30, 23, 0, 0, 0, time.UTC)
	clock := NewManualClock(day)
	_, api := start(t, Config{Clock: clock, Profile: Profile{Delivery: Fixed(2 * time.Hour)}})
	m := sendSMS(t, api, mayor, "crue", "")

	count := func(p *openapi.ListMessageParams) int {
		t.Helper()
		got, err := api.ListMessage(p.SetTo(mayor))
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	on := func(y int, mo time.Month, d int) time.Time { return time.Date(y, mo, d, 12, 0, 0, 0, time.UTC) }

	if n := count((&openapi.ListMessageParams{}).SetDateSentAfter(on(2024, 4, 1))); n != 0 {
		t.Errorf("queued message listed by DateSent> (%d): it has no date_sent", n)
	}
	if n := count(&openapi.ListMessageParams{}); n != 1 {
		t.Errorf("queued message not listed without a date filter")
	}
	clock.Advance(time.Hour) // sent half way, on May 1st
	if got, _ := api.FetchMessage(str(m.Sid), nil); str(got.Status) != "sent" {
		t.Fatalf("status %s, want sent", str(got.Status))
	}
	for _, c := range []struct {
		name string
		p    *openapi.ListMessageParams
		want int
	}{
		{"on the day", (&openapi.ListMessageParams{}).SetDateSent(on(2024, 5, 1)), 1},
		{"on the day before", (&openapi.ListMessageParams{}).SetDateSent(on(2024, 4, 30)), 0},
		{"after, same day, later hour", (&openapi.ListMessageParams{}).SetDateSentAfter(time.Date(2024, 5, 1, 23, 0, 0, 0, time.UTC)), 1},
		{"after the next day", (&openapi.ListMessageParams{}).SetDateSentAfter(on(2024, 5, 2)), 0},
		{"before, same day, earlier hour", (&openapi.ListMessageParams{}).SetDateSentBefore(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)), 1},
		{"before the day before", (&openapi.ListMessageParams{}).SetDateSentBefore(on(2024, 4, 30)), 0},
		{"Paris midnight counts for its UTC day", (&openapi.ListMessageParams{}).SetDateSent(time.Date(2024, 5, 2, 0, 30, 0, 0, time.FixedZone("CEST", 2*3600))), 1},
	} {
		if n := count(c.p); n != c.want {
			t.Errorf("%s: listed %d, want %d", c.name, n, c.want)
		}
	}
}

func TestMessageCreateErrors(t *testing.T) {
	srv, _ := start(t, Config{
		Numbers: []string{testFrom},
		Profile: Profile{Numbers: map[string]Persona{
			"+33639980010": {Behaviour: Invalid},
			"+33639980011": {Behaviour: Landline},
			"+33639980012": {Behaviour: Unsubscribed},
		}},
	})
	u := srv.URL() + "/2010-04-01/Accounts/" + testSID + "/Messages.json"
	form := "application/x-www-form-urlencoded"
	for _, c := range []struct {
		name, body string
		code       int
	}{
		{"no To", "From=%2B33639980000&Body=x", 21604},
		{"no From", "To=%2B33639980001&Body=x", 21603},
		{"bad To", "To=0639980001&From=%2B33639980000&Body=x", 21211},
		{"bad From", "To=%2B33639980001&From=not+a+number!&Body=x", 21212},
		{"From not the account's", "To=%2B33639980001&From=%2B33639989999&Body=x", 21606},
		{"bad service", "To=%2B33639980001&MessagingServiceSid=MGxyz&Body=x", 21701},
		{"no Body", "To=%2B33639980001&From=%2B33639980000", 21602},
		{"long Body", "To=%2B33639980001&From=%2B33639980000&Body=" + strings.Repeat("a", 1601), 21617},
		{"bad callback", "To=%2B33639980001&From=%2B33639980000&Body=x&StatusCallback=ftp%3A%2F%2Fx", 21609},
		{"invalid number", "To=%2B33639980010&From=%2B33639980000&Body=x", 21211},
		{"landline", "To=%2B33639980011&From=%2B33639980000&Body=x", 21614},
		{"unsubscribed", "To=%2B33639980012&From=%2B33639980000&Body=x", 21610},
		{"unreadable form", "To=%zz", 20001},
	} {
		resp, body := do(t, "POST", u, form, c.body)
		var e map[string]any
		if err := json.Unmarshal(body, &e); err != nil {
			t.Errorf("%s: body %q is not JSON", c.name, body)
			continue
		}
		want := map[string]any{
			"code":      float64(c.code),
			"status":    float64(400),
			"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", c.code),
		}
		if resp.StatusCode != 400 || e["code"] != want["code"] || e["status"] != want["status"] || e["more_info"] != want["more_info"] || e["message"] == "" {
			t.Errorf("%s: %d %s, want 400 with code %d", c.name, resp.StatusCode, body, c.code)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages recorded after refused creates, want 0", n)
	}
	if st := srv.Stats(); st.Rejected != 12 {
		t.Errorf("Rejected = %d, want 12", st.Rejected)
	}
	// An alphanumeric sender is accepted.
	resp, body := do(t, "POST", u, form, "To=%2B33639980001&From=PREFET76&Body=x")
	if resp.StatusCode != 201 {
		t.Errorf("alphanumeric sender: %d %s", resp.StatusCode, body)
	}
}

func TestCreateErrorsReachTwilioGoAsRestErrors(t *testing.T) {
	_, api := start(t, Config{Profile: Profile{Default: Persona{Behaviour: Landline}}})
	_, err := api.CreateMessage((&openapi.CreateMessageParams{}).SetTo(townHall).SetFrom(testFrom).SetBody("x"))
	e := restError(t, err)
	if e.Code != 21614 || e.Status != 400 || e.MoreInfo != "https://www.twilio.com/docs/errors/21614" {
		t.Errorf("got %+v, want 21614", e)
	}
}

func TestAuthentication(t *testing.T) {
	srv, _ := start(t, Config{})
	for name, api := range map[string]*openapi.ApiService{
		"wrong token":   twilioAPI(t, srv, testSID, "ffffffffffffffffffffffffffffffff"),
		"wrong account": twilioAPI(t, srv, "ACffffffffffffffffffffffffffffffff", testToken),
	} {
		_, err := api.CreateMessage(smsParams(mayor))
		if e := restError(t, err); e.Status != 401 || e.Code != 20003 {
			t.Errorf("%s: got %d/%d, want 401/20003", name, e.Status, e.Code)
		}
	}
	// No credentials at all.
	resp, err := http.Get(srv.URL() + "/2010-04-01/Accounts/" + testSID + "/Messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 401 || e["code"] != float64(20003) || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no credentials: %d %v, want 401 20003 with WWW-Authenticate", resp.StatusCode, e)
	}
	// Right credentials, another account in the path.
	other := "ACffffffffffffffffffffffffffffffff"
	r2, body := do(t, "GET", srv.URL()+"/2010-04-01/Accounts/"+other+"/Messages.json", "", "")
	if r2.StatusCode != 404 || !strings.Contains(string(body), `"code":20404`) {
		t.Errorf("other account: %d %s, want 404 20404", r2.StatusCode, body)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages created without valid credentials", n)
	}
	// Unknown paths and methods answer Twilio-shaped errors.
	r3, body := do(t, "DELETE", srv.URL()+"/2010-04-01/Accounts/"+testSID+"/Messages.json", "", "")
	if r3.StatusCode != 405 || !strings.Contains(string(body), `"code":20004`) {
		t.Errorf("DELETE Messages.json: %d %s", r3.StatusCode, body)
	}
	r4, body := do(t, "GET", srv.URL()+"/2010-04-01/Accounts/"+testSID+"/Queues.json", "", "")
	if r4.StatusCode != 404 || !strings.Contains(string(body), `"code":20404`) {
		t.Errorf("unknown resource: %d %s", r4.StatusCode, body)
	}
}

func TestFetchAccount(t *testing.T) {
	_, api := start(t, Config{})
	a, err := api.FetchAccount(testSID)
	if err != nil {
		t.Fatal(err)
	}
	if str(a.Sid) != testSID || str(a.Status) != "active" {
		t.Errorf("account = %s %s", str(a.Sid), str(a.Status))
	}
	if a.AuthToken != nil {
		t.Errorf("the account resource gives the auth token away")
	}
}

func TestMessagingService(t *testing.T) {
	clock := NewManualClock(time.Date(2024, 4, 30, 8, 0, 0, 0, time.UTC))
	sms := newHook(t, testToken)
	srv, api := start(t, Config{
		Clock:   clock,
		SMSURL:  sms.URL + "/webhooks/twilio/sms",
		Numbers: []string{testFrom},
		Profile: Profile{Default: Persona{Behaviour: Reply}},
	})
	m, err := api.CreateMessage((&openapi.CreateMessageParams{}).SetTo(mayor).SetMessagingServiceSid(serviceID).SetBody("Alerte"))
	if err != nil {
		t.Fatal(err)
	}
	if str(m.Status) != "accepted" || str(m.NumSegments) != "0" || m.From != nil || str(m.MessagingServiceSid) != serviceID {
		t.Errorf("at create: status %s, num_segments %s, from %s, service %s; want accepted, 0, null, the service",
			str(m.Status), str(m.NumSegments), str(m.From), str(m.MessagingServiceSid))
	}
	clock.Advance(0)
	got, _ := api.FetchMessage(str(m.Sid), nil)
	if str(got.From) != testFrom || str(got.NumSegments) != "1" {
		t.Errorf("once sent: from %s num_segments %s, want the pool number and 1", str(got.From), str(got.NumSegments))
	}
	r := sms.next(t)
	if r.Form.Get("To") != testFrom || r.Form.Get("MessagingServiceSid") != serviceID {
		t.Errorf("reply To %q service %q", r.Form.Get("To"), r.Form.Get("MessagingServiceSid"))
	}
	if n := len(srv.Replies()); n != 1 {
		t.Errorf("%d replies", n)
	}
}
