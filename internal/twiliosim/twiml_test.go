package twiliosim

import (
	"slices"
	"testing"
	"time"

	"github.com/twilio/twilio-go/twiml"
)

func TestParseTwiML(t *testing.T) {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say language="fr-FR" voice="Polly.Lea" loop="2">  Alerte
     crue <break time="1s"/> Dieppe </Say>
  <Gather numDigits="1" action="ack"><Say>Appuyez sur 1</Say><Pause length="2"/><Play>x.mp3</Play></Gather>
  <Redirect method="GET"> next </Redirect>
  <Hangup/>
</Response>`
	verbs, err := parseTwiML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range verbs {
		names = append(names, v.name)
	}
	if !slices.Equal(names, []string{"Say", "Gather", "Redirect", "Hangup"}) {
		t.Fatalf("verbs %v", names)
	}
	if v := verbs[0]; v.text != "Alerte crue Dieppe" || v.attr("language") != "fr-FR" || v.sayLoops() != 2 {
		t.Errorf("Say %+v", v)
	}
	if g := verbs[1]; len(g.children) != 3 || g.children[0].text != "Appuyez sur 1" || g.children[1].pauseLength() != 2*time.Second {
		t.Errorf("Gather %+v", g)
	}
	if v := verbs[2]; v.text != "next" || v.method() != "GET" {
		t.Errorf("Redirect %+v", v)
	}
	for _, bad := range []string{"", "<Response>", "<Say>x</Say>", "<Response/><Response/>", "<Response><Say></Response>", "not xml"} {
		if _, err := parseTwiML([]byte(bad)); err == nil {
			t.Errorf("parseTwiML(%q) accepted", bad)
		}
	}
}

// Documents written by twilio-go's twiml package, as the product writes
// them, play as they should.
func TestPlaysTwilioGoTwiML(t *testing.T) {
	doc, err := twiml.Voice([]twiml.Element{
		&twiml.VoiceSay{Message: alert, Language: "fr-FR"},
		&twiml.VoiceGather{NumDigits: "1", Action: "/voice/ack?attempt=a1", Timeout: "5", Language: "fr-FR",
			InnerElements: []twiml.Element{&twiml.VoiceSay{Message: prompt, Language: "fr-FR"}}},
		&twiml.VoiceSay{Message: noReply, Language: "fr-FR"},
	})
	if err != nil {
		t.Fatal(err)
	}
	clock := NewManualClock(t0)
	app := newVoiceApp(t)
	app.serve("/voice/call", appPage{200, "text/xml", doc})
	app.serve("/voice/ack", twimlPage(says(thanks)))
	srv, api := start(t, Config{Clock: clock, Profile: Profile{Default: Persona{Call: Answer}}})
	c := runToEnd(t, clock, srv, dial(t, api, app.callParams(mayor)), time.Minute)
	acks := app.requests("/voice/ack")
	if len(acks) != 1 || acks[0].Form.Get("Digits") != "1" || !acks[0].Valid || acks[0].Form.Get("attempt") != "" {
		t.Fatalf("action requests %+v", acks)
	}
	if c.Digits != "1" || !c.Heard(alert) || !c.Heard(thanks) || c.Said[0].Language != "fr-FR" {
		t.Errorf("digits %q, heard:\n%s", c.Digits, c.Transcript())
	}
}

func TestParseTwiMLDialNumbers(t *testing.T) {
	verbs, err := parseTwiML([]byte(`<Response><Dial timeout="25" action="https://x/after"><Number>+33639981001</Number><Number> +33639981002 </Number></Dial></Response>`))
	if err != nil {
		t.Fatal(err)
	}
	if len(verbs) != 1 || verbs[0].name != "Dial" || len(verbs[0].children) != 2 || verbs[0].children[1].text != "+33639981002" || verbs[0].attr("action") != "https://x/after" {
		t.Errorf("Dial %+v; want its two numbers and its action", verbs)
	}
}
