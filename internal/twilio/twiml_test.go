package twilio

import (
	"encoding/xml"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// node is any XML element, read back from the TwiML written.
type node struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []node     `xml:",any"`
}

func (n node) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// shape writes n as "Name(child child …)" for a quick look at the verbs.
func (n node) shape() string {
	if len(n.Children) == 0 {
		return n.XMLName.Local
	}
	var parts []string
	for _, c := range n.Children {
		parts = append(parts, c.shape())
	}
	return n.XMLName.Local + "(" + strings.Join(parts, " ") + ")"
}

// says returns the text of every Say under n, in order.
func (n node) says() []string {
	var out []string
	if n.XMLName.Local == "Say" {
		out = append(out, n.Text)
	}
	for _, c := range n.Children {
		out = append(out, c.says()...)
	}
	return out
}

func (n node) each(name string, f func(node)) {
	if n.XMLName.Local == name {
		f(n)
	}
	for _, c := range n.Children {
		c.each(name, f)
	}
}

// twimlReader returns a func that reads a TwiML builder's results back,
// failing t when they are not a TwiML document whose Says are all French.
func twimlReader(t testing.TB) func(doc string, err error) node {
	return func(doc string, err error) node {
		t.Helper()
		return parseTwiML(t, doc, err)
	}
}

func parseTwiML(t testing.TB, doc string, err error) node {
	t.Helper()
	if err != nil {
		t.Fatalf("building TwiML: %v", err)
	}
	if !strings.HasPrefix(doc, `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("TwiML does not start with the XML declaration: %s", doc)
	}
	var root node
	if err := xml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatalf("TwiML is not XML: %v\n%s", err, doc)
	}
	if root.XMLName.Local != "Response" {
		t.Fatalf("root element %s, want Response", root.XMLName.Local)
	}
	// Every Say is in French.
	root.each("Say", func(s node) {
		if lang, _ := s.attr("language"); lang != "fr-FR" {
			t.Errorf("a Say has language %q, want fr-FR: %s", lang, doc)
		}
	})
	return root
}

var dieppe = Prompt{
	Text:      "EXERCICE. Crue de l'Arques : évacuez les berges. Répondez OK.",
	TwiMLURL:  "https://tocsin.example.fr/webhooks/twilio/voice/twiml?activation=a1&attempt=r1-2",
	GatherURL: "https://tocsin.example.fr/webhooks/twilio/voice/gather?activation=a1&attempt=r1-2",
}

// checkGather checks the Gather of a playing: one key, posted with the
// playing to the gather URL, the alert then the prompt.
func checkGather(t *testing.T, g node, p Prompt, play string) {
	t.Helper()
	for k, want := range map[string]string{"numDigits": "1", "method": "POST", "timeout": "8", "input": "dtmf"} {
		if got, _ := g.attr(k); got != want {
			t.Errorf("Gather %s=%q, want %q", k, got, want)
		}
	}
	action, _ := g.attr("action")
	u, err := url.Parse(action)
	if err != nil || !strings.HasPrefix(action, "https://tocsin.example.fr/webhooks/twilio/voice/gather?") ||
		u.Query().Get("activation") != "a1" || u.Query().Get("attempt") != "r1-2" || u.Query().Get(PlayParam) != play {
		t.Errorf("Gather action %q, want the gather URL with its parameters and play=%s", action, play)
	}
	if got := strings.Join(g.says(), " | "); got != p.Text+" | Appuyez sur 1 pour confirmer la réception." {
		t.Errorf("the Gather says %q, want the alert then the prompt", got)
	}
}

func TestMessageTwiMLFirstPlaying(t *testing.T) {
	read := twimlReader(t)
	root := read(MessageTwiML(dieppe, 1))
	if got := root.shape(); got != "Response(Gather(Say Say) Redirect)" {
		t.Fatalf("TwiML is %s, want the Gather then a Redirect", got)
	}
	checkGather(t, root.Children[0], dieppe, "1")
	redirect := root.Children[1]
	if m, _ := redirect.attr("method"); m != "POST" {
		t.Errorf("Redirect method %q, want POST", m)
	}
	u, err := url.Parse(redirect.Text)
	if err != nil || !strings.HasPrefix(redirect.Text, "https://tocsin.example.fr/webhooks/twilio/voice/twiml?") ||
		u.Query().Get("activation") != "a1" || u.Query().Get("attempt") != "r1-2" || u.Query().Get(PlayParam) != "2" {
		t.Errorf("Redirect to %q, want the TwiML URL with its parameters and play=2", redirect.Text)
	}
	root.each("Say", func(s node) {
		if _, ok := s.attr("voice"); ok {
			t.Error("a Say names a voice though none was configured")
		}
	})
}

func TestMessageTwiMLLastPlaying(t *testing.T) {
	read := twimlReader(t)
	root := read(MessageTwiML(dieppe, MaxPlays))
	if got := root.shape(); got != "Response(Gather(Say Say) Say Hangup)" {
		t.Fatalf("TwiML is %s, want the Gather, a closing Say and Hangup", got)
	}
	checkGather(t, root.Children[0], dieppe, "2")
	if got := root.Children[1].Text; got != "Message non confirmé. La préfecture vous rappellera." {
		t.Errorf("closing Say %q", got)
	}
}

func TestMessageTwiMLTextAndVoice(t *testing.T) {
	p := dieppe
	p.Text = "Seveso <Lubrizol> & \"ATMO\" l'usine ; niveau > 2\x00\x1b\ufffe" + string([]byte{0xff}) + "\tfin"
	p.Voice = "Polly.Lea"
	p.TwiMLURL += "&play=7" // replaced, not added to
	doc, err := MessageTwiML(p, 1)
	root := parseTwiML(t, doc, err)
	if got, want := root.says()[0], "Seveso <Lubrizol> & \"ATMO\" l'usine ; niveau > 2\tfin"; got != want {
		t.Errorf("the alert is said as %q, want %q", got, want)
	}
	if strings.Contains(doc, "<Lubrizol>") {
		t.Error("markup in the alert reaches the TwiML unescaped")
	}
	root.each("Say", func(s node) {
		if v, _ := s.attr("voice"); v != "Polly.Lea" {
			t.Errorf("a Say has voice %q, want Polly.Lea", v)
		}
	})
	u, _ := url.Parse(root.Children[1].Text)
	if got := u.Query()[PlayParam]; len(got) != 1 || got[0] != "2" {
		t.Errorf("Redirect carries play=%v, want only 2", got)
	}
}

func TestMessageTwiMLRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Prompt)
		play int
	}{
		"playing 0":            {func(*Prompt) {}, 0},
		"playing 3":            {func(*Prompt) {}, MaxPlays + 1},
		"no text":              {func(p *Prompt) { p.Text = "" }, 1},
		"nothing sayable":      {func(p *Prompt) { p.Text = " \x00\x01 " }, 1},
		"no gather URL":        {func(p *Prompt) { p.GatherURL = "" }, 1},
		"relative gather URL":  {func(p *Prompt) { p.GatherURL = "/webhooks/twilio/voice/gather" }, 1},
		"ftp gather URL":       {func(p *Prompt) { p.GatherURL = "ftp://tocsin.example.fr/g" }, 1},
		"gather URL with user": {func(p *Prompt) { p.GatherURL = "https://u:p@tocsin.example.fr/g" }, 1},
		"no TwiML URL to redo": {func(p *Prompt) { p.TwiMLURL = "" }, 1},
		"unparsable TwiML URL": {func(p *Prompt) { p.TwiMLURL = "https://tocsin.example.fr/%zz" }, 1},
	} {
		p := dieppe
		tc.edit(&p)
		if doc, err := MessageTwiML(p, tc.play); err == nil {
			t.Errorf("%s: no error, got %s", name, doc)
		}
	}
	// On the last playing nothing redirects: no TwiML URL is needed.
	p := dieppe
	p.TwiMLURL = ""
	if _, err := MessageTwiML(p, MaxPlays); err != nil {
		t.Errorf("last playing without TwiML URL: %v", err)
	}
}

func TestWrongKeyTwiML(t *testing.T) {
	read := twimlReader(t)
	// During the first playing: the alert once more, for the last time.
	root := read(WrongKeyTwiML(dieppe, 1))
	if got := root.shape(); got != "Response(Say Gather(Say Say) Say Hangup)" {
		t.Fatalf("TwiML is %s, want a Say, the last playing's Gather, the closing Say and Hangup", got)
	}
	if got := root.Children[0].Text; got != "Touche non reconnue." {
		t.Errorf("first Say %q", got)
	}
	checkGather(t, root.Children[1], dieppe, "2")

	// During the last: no more repeats.
	root = read(WrongKeyTwiML(dieppe, MaxPlays))
	if got := root.shape(); got != "Response(Say Say Hangup)" {
		t.Fatalf("TwiML is %s, want two Says and Hangup", got)
	}
	if got := strings.Join(root.says(), " "); got != "Touche non reconnue. Message non confirmé. La préfecture vous rappellera." {
		t.Errorf("says %q", got)
	}
	for _, play := range []int{0, MaxPlays + 1} {
		if _, err := WrongKeyTwiML(dieppe, play); err == nil {
			t.Errorf("WrongKeyTwiML(playing %d): no error", play)
		}
	}
}

func TestClosingTwiML(t *testing.T) {
	read := twimlReader(t)
	for _, tc := range []struct {
		name string
		doc  func(voice string) (string, error)
		say  string
	}{
		{"confirm", ConfirmTwiML, "Réception confirmée. Merci."},
		{"already informed", AlreadyInformedTwiML, "Cette alerte a déjà été confirmée. Merci."},
	} {
		for _, voice := range []string{"", "Google.fr-FR-Standard-A"} {
			root := read(tc.doc(voice))
			if got := root.shape(); got != "Response(Say Hangup)" {
				t.Errorf("%s: TwiML is %s, want Say then Hangup", tc.name, got)
				continue
			}
			if got := root.Children[0].Text; got != tc.say {
				t.Errorf("%s: says %q, want %q", tc.name, got, tc.say)
			}
			if got, _ := root.Children[0].attr("voice"); got != voice {
				t.Errorf("%s: voice %q, want %q", tc.name, got, voice)
			}
		}
	}
}

func TestParsePlay(t *testing.T) {
	for q, want := range map[string]int{"": 1, "attempt=r1-2": 1, "play=1": 1, "play=2&attempt=r1-2": 2, "play=": 1} {
		query, _ := url.ParseQuery(q)
		if got, err := ParsePlay(query); err != nil || got != want {
			t.Errorf("ParsePlay(%q) = %d, %v; want %d", q, got, err, want)
		}
	}
	for _, q := range []string{"play=0", "play=3", "play=-1", "play=deux", "play=1.0", "play=99999999999999999999"} {
		query, _ := url.ParseQuery(q)
		if got, err := ParsePlay(query); !errors.Is(err, ErrInvalidWebhook) {
			t.Errorf("ParsePlay(%q) = %d, %v; want ErrInvalidWebhook", q, got, err)
		}
	}
	// What the builders write, ParsePlay reads.
	root := twimlReader(t)(MessageTwiML(dieppe, 1))
	action, _ := root.Children[0].attr("action")
	for raw, want := range map[string]int{action: 1, root.Children[1].Text: 2} {
		u, _ := url.Parse(raw)
		if got, err := ParsePlay(u.Query()); err != nil || got != want {
			t.Errorf("ParsePlay(%s) = %d, %v; want %d", raw, got, err, want)
		}
	}
}

func FuzzMessageTwiML(f *testing.F) {
	f.Add("EXERCICE. Crue : répondez OK.", "Polly.Lea", "https://tocsin.example.fr/g?a=1", 1)
	f.Add("<Say>&amp;</Say>]]><!--", "", "https://tocsin.example.fr/g?play=x&a=%zz", 2)
	f.Add("\x00\r\n\t\xff\ufffe\U0001F6A8", "a\"b<", "http://[::1]:80/g#frag", 1)
	f.Fuzz(func(t *testing.T, text, voice, gatherURL string, play int) {
		p := Prompt{Text: text, Voice: voice, GatherURL: gatherURL, TwiMLURL: gatherURL}
		doc, err := MessageTwiML(p, play)
		if err != nil {
			return
		}
		if play < 1 || play > MaxPlays || strings.TrimSpace(sayable(text)) == "" {
			t.Fatalf("MessageTwiML(%q, playing %d) = %s, want an error", text, play, doc)
		}
		var root node
		if err := xml.Unmarshal([]byte(doc), &root); err != nil {
			t.Fatalf("TwiML for %q is not XML: %v\n%s", text, err, doc)
		}
		// XML readers turn \r and \r\n into \n; Twilio's does the same.
		want := strings.ReplaceAll(strings.ReplaceAll(sayable(text), "\r\n", "\n"), "\r", "\n")
		if says := root.says(); len(says) == 0 || says[0] != want {
			t.Errorf("the alert %q is said as %q", want, says)
		}
		action, _ := root.Children[0].attr("action")
		u, err := url.Parse(action)
		if err != nil {
			t.Fatalf("Gather action %q does not parse: %v", action, err)
		}
		if got, err := ParsePlay(u.Query()); err != nil || got != play {
			t.Errorf("Gather action %q carries playing %d, %v; want %d", action, got, err, play)
		}
	})
}
