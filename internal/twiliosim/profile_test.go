package twiliosim

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPersonaForPrecedence(t *testing.T) {
	p := Profile{
		Numbers:  map[string]Persona{"+33235000001": {Behaviour: Reply}},
		Prefixes: map[string]Persona{"+332": {Behaviour: Landline}, "+33235": {Behaviour: Unsubscribed}},
		Mix:      []Share{{Weight: 1, Persona: Persona{Behaviour: CarrierFailure}}},
		Default:  Persona{Behaviour: Invalid},
	}
	for number, want := range map[string]Behaviour{
		"+33235000001": Reply,          // exact number first
		"+33235000002": Unsubscribed,   // then the longest prefix
		"+33261910000": Landline,       // a shorter prefix
		"+33639980001": CarrierFailure, // then the mix
	} {
		if got := p.PersonaFor(number).Behaviour; got != want {
			t.Errorf("PersonaFor(%s) = %s, want %s", number, got, want)
		}
	}
	p.Mix = nil
	if got := p.PersonaFor("+33639980001").Behaviour; got != Invalid {
		t.Errorf("without a mix: %s, want the default", got)
	}
}

func TestDemoProfileMix(t *testing.T) {
	p := DemoProfile()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	const n = 20000
	for i := range n {
		number := fmt.Sprintf("+336%08d", i)
		o := p.PersonaFor(number)
		if o != p.PersonaFor(number) {
			t.Fatalf("%s: not deterministic", number)
		}
		key := string(o.Behaviour)
		if o.Behaviour == Reply {
			d := o.Delay.pick(number, "reply")
			if d < o.Delay.Min || d > o.Delay.Max {
				t.Fatalf("%s: delay %s out of %v", number, d, o.Delay)
			}
			key += map[bool]string{true: "-late", false: ""}[o.Delay.Min >= 8*time.Minute]
		}
		counts[key]++
	}
	for key, want := range map[string]float64{"reply": 0.85, "silent": 0.07, "carrier-failure": 0.03, "reply-late": 0.05} {
		if got := float64(counts[key]) / n; math.Abs(got-want) > 0.015 {
			t.Errorf("%s: %.3f of numbers, want about %.2f", key, got, want)
		}
	}
	// Calls: the SMS-silent and the late mostly answer and press 1, so a
	// demo escalation shows officials informed by voice.
	calls := map[string]int{}
	for i := range n {
		number := fmt.Sprintf("+336%08d", i)
		o := p.PersonaFor(number)
		late := o.Behaviour == Reply && o.Delay.Min >= 8*time.Minute
		if o.Behaviour == Silent || late {
			calls[fmt.Sprintf("%s/%s/%q", map[bool]string{true: "late", false: "silent"}[late], callOutcome(o), o.keys())]++
		}
		if o.Behaviour == Reply && !late && callOutcome(o) != NoAnswer {
			t.Fatalf("%s replies by SMS and answers calls", number)
		}
	}
	for key, want := range map[string]float64{
		`silent/answer/"1"`: 0.04, `silent/voicemail/""`: 0.02, `silent/no-answer/""`: 0.01,
		`late/answer/"1"`: 0.03, `late/no-answer/""`: 0.02,
	} {
		if got := float64(calls[key]) / n; math.Abs(got-want) > 0.01 {
			t.Errorf("%s: %.3f of numbers, want about %.2f (all: %v)", key, got, want, calls)
		}
	}
	if got := p.PersonaFor("+33235000001"); got.Behaviour != Landline || callOutcome(got) != Answer || got.keys() != "1" {
		t.Errorf("a Rouen landline is %+v in the demo", got)
	}
}

func TestRangePick(t *testing.T) {
	r := Range{20 * time.Second, 4 * time.Minute}
	seen := map[time.Duration]bool{}
	for i := range 100 {
		number := fmt.Sprintf("+3363998%04d", i)
		d := r.pick(number, "reply")
		if d < r.Min || d > r.Max || d != r.pick(number, "reply") {
			t.Fatalf("pick(%s) = %s", number, d)
		}
		seen[d] = true
	}
	if len(seen) < 90 {
		t.Errorf("only %d distinct delays over 100 numbers", len(seen))
	}
	if d := Fixed(time.Second).pick("+33639980001", "x"); d != time.Second {
		t.Errorf("fixed range picked %s", d)
	}
	p := Profile{DelayScale: 0.1}
	if d := p.scale(4 * time.Minute); d != 24*time.Second {
		t.Errorf("scaled 4m by 0.1 = %s", d)
	}
}

const profileYAML = `
delay_scale: 0.5
delivery: {min: 1s, max: 5s}
dial: 2s
numbers:
  +33639980001: {behaviour: reply, reply: code, delay: 30s}
  "+33639980002": {behaviour: carrier-failure, error_code: 30005, status: failed}
  "+33639980003": {behaviour: silent, call: busy}
  "+33639980004": {call: answer, answer_after: {min: 5s, max: 20s}, press: "2", press_after: 3s, hang_up_after: 1m}
  "+33639980005": {call: voicemail, answer_after: 20s}
  "+33639980006": {behaviour: landline, press: none}
prefixes:
  "+331": {behaviour: landline}
mix:
  - {weight: 90, behaviour: reply, delay: {min: 20s, max: 4m}}
  - weight: 10
    behaviour: silent
default: {behaviour: silent}
`

const profileJSON = `{
  "delay_scale": 0.5,
  "delivery": {"min": "1s", "max": "5s"},
  "dial": "2s",
  "numbers": {
    "+33639980001": {"behaviour": "reply", "reply": "code", "delay": "30s"},
    "+33639980002": {"behaviour": "carrier-failure", "error_code": 30005, "status": "failed"},
    "+33639980003": {"behaviour": "silent", "call": "busy"},
    "+33639980004": {"call": "answer", "answer_after": {"min": "5s", "max": "20s"}, "press": "2", "press_after": "3s", "hang_up_after": "1m"},
    "+33639980005": {"call": "voicemail", "answer_after": "20s"},
    "+33639980006": {"behaviour": "landline", "press": "none"}
  },
  "prefixes": {"+331": {"behaviour": "landline"}},
  "mix": [
    {"weight": 90, "behaviour": "reply", "delay": {"min": "20s", "max": "4m"}},
    {"weight": 10, "behaviour": "silent"}
  ],
  "default": {"behaviour": "silent"}
}`

func TestParseProfile(t *testing.T) {
	want := Profile{
		DelayScale: 0.5,
		Delivery:   Range{time.Second, 5 * time.Second},
		Dial:       Fixed(2 * time.Second),
		Numbers: map[string]Persona{
			"+33639980001": {Behaviour: Reply, Reply: ReplyCode, Delay: Fixed(30 * time.Second)},
			"+33639980002": {Behaviour: CarrierFailure, ErrorCode: 30005, Status: "failed"},
			"+33639980003": {Behaviour: Silent, Call: Busy},
			"+33639980004": {Call: Answer, AnswerAfter: Range{5 * time.Second, 20 * time.Second}, Press: "2",
				PressAfter: Fixed(3 * time.Second), HangUpAfter: Fixed(time.Minute)},
			"+33639980005": {Call: Voicemail, AnswerAfter: Fixed(20 * time.Second)},
			"+33639980006": {Behaviour: Landline, Press: PressNothing},
		},
		Prefixes: map[string]Persona{"+331": {Behaviour: Landline}},
		Mix: []Share{
			{Weight: 90, Persona: Persona{Behaviour: Reply, Delay: Range{20 * time.Second, 4 * time.Minute}}},
			{Weight: 10, Persona: Persona{Behaviour: Silent}},
		},
		Default: Persona{Behaviour: Silent},
	}
	for name, src := range map[string]string{"yaml": profileYAML, "json": profileJSON} {
		got, err := ParseProfile([]byte(src))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", name, got, want)
		}
	}
	if p, err := ParseProfile(nil); err != nil || p.PersonaFor(mayor).Behaviour != "" {
		t.Errorf("empty file: %v %+v", err, p)
	}
}

func TestParseProfileErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"numbers: {'+33639980001': {behavior: reply}}", "behavior"},
		{"default: {behaviour: shouting}", "shouting"},
		{"numbers: {'0639980001': {}}", "E.164"},
		{"prefixes: {'33': {}}", "prefix"},
		{"mix: [{weight: 0, behaviour: silent}]", "weight"},
		{"delivery: {min: 5s, max: 1s}", "below"},
		{"delivery: soon", "duration"},
		{"delivery: {min: 1s, typo: 2s}", "typo"},
		{"default: {behaviour: carrier-failure, error_code: 21211}", "error_code"},
		{"default: {behaviour: carrier-failure, status: lost}", "status"},
		{"default: {call: shout}", "shout"},
		{"default: {call: busy, press: '1'}", "press"},
		{"default: {call: voicemail, press: '1'}", "press"},
		{"default: {call: answer, press: '1a'}", "press"},
		{"default: {call: answer, press: '123456789012345678901'}", "press"},
		{"default: {behaviour: silent, answer_after: 5s}", "answer_after"},
		{"default: {call: no-answer, hang_up_after: 5s}", "hang_up_after"},
		{"default: {call: answer, press_after: {min: 5s, max: 1s}}", "press_after"},
		{"default: {call: answer, answer_after: -5s}", "answer_after"},
		{"delay_scale: -1", "delay_scale"},
		{"[1, 2]", "parse"},
	} {
		_, err := ParseProfile([]byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseProfile(%q) = %v, want an error about %q", c.src, err, c.want)
		}
	}
}

func TestLoadProfileFile(t *testing.T) {
	path := t.TempDir() + "/officials.yaml"
	if _, err := LoadProfile(path); err == nil {
		t.Error("missing file loaded")
	}
	writeFile(t, path, profileYAML)
	p, err := LoadProfile(path)
	if err != nil || p.Numbers["+33639980001"].Reply != ReplyCode {
		t.Errorf("LoadProfile: %v %+v", err, p)
	}
}

func TestRangeJSONRoundTrip(t *testing.T) {
	for _, r := range []Range{Fixed(30 * time.Second), {20 * time.Second, 4 * time.Minute}} {
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back Range
		if err := back.UnmarshalJSON(b); err != nil || back != r {
			t.Errorf("%s → %v %v", b, back, err)
		}
	}
}

// The profile shown in the package documentation is a valid profile.
func TestDocumentedProfileParses(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, "//\tdelay_scale") || len(lines) > 0 {
			if !strings.HasPrefix(l, "//\t") {
				break
			}
			lines = append(lines, strings.TrimPrefix(l, "//\t"))
		}
	}
	if len(lines) < 10 {
		t.Fatalf("profile example not found in doc.go")
	}
	p, err := ParseProfile([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatalf("documented profile: %v", err)
	}
	if got := callOutcome(p.PersonaFor("+33639980007")); got != Voicemail {
		t.Errorf("documented voicemail is %s", got)
	}
}
