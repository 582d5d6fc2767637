package twilio

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestPublicLineTwiML(t *testing.T) {
	tests := []struct {
		name      string
		line      PublicLine
		want, not []string
	}{
		{"operators in position",
			PublicLine{Open: true, Message: "Crue de la Béthune : évitez les berges <et> les caves.", Numbers: []string{"+33639981001", "+33639981002"}},
			[]string{"<Say language=\"fr-FR\">Préfecture de la Seine-Maritime", "évitez les berges &lt;et&gt; les caves.",
				"<Dial timeout=\"25\"><Number>+33639981001</Number><Number>+33639981002</Number></Dial>", // one attribute: no order to it
				"</Dial><Say language=\"fr-FR\">Tous nos opérateurs sont occupés", "<Hangup/></Response>"}, nil},
		{"nobody in position",
			PublicLine{Open: true, Message: "Message."},
			[]string{"Message.", "Tous nos opérateurs sont occupés"}, []string{"<Dial", "mettons en relation"}},
		{"closed",
			PublicLine{Message: "Message.", Numbers: []string{"+33639981001"}},
			[]string{"cellule d'information du public est fermée", "<Hangup/>"}, []string{"<Dial", "Message."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := PublicLineTwiML(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			doc = strings.ReplaceAll(doc, "&apos;", "'")
			for _, w := range tt.want {
				if !strings.Contains(doc, w) {
					t.Errorf("TwiML lacks %q:\n%s", w, doc)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(doc, n) {
					t.Errorf("TwiML has %q:\n%s", n, doc)
				}
			}
		})
	}
}

func TestPublicLineTwiMLRingsAtMostTen(t *testing.T) {
	var numbers []string
	for i := range 12 {
		numbers = append(numbers, "+3363998100"+string(rune('0'+i%10)))
	}
	doc, err := PublicLineTwiML(PublicLine{Open: true, Numbers: numbers})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(doc, "<Number>"); n != MaxDialed {
		t.Errorf("%d numbers rung, want %d", n, MaxDialed)
	}
	if _, err := PublicLineTwiML(PublicLine{Open: true, Numbers: []string{"06 39 98"}}); err == nil {
		t.Error("a number not in E.164 form was accepted")
	}
}

func TestPublicLineTwiMLWithDialAction(t *testing.T) {
	doc, err := PublicLineTwiML(PublicLine{Open: true, Numbers: []string{"+33639981001"}, DialAction: "https://tocsin.example/twilio/voice/public/dialed?a=x"})
	if err != nil {
		t.Fatal(err)
	}
	// The library writes attributes in no set order.
	if !strings.Contains(doc, `action="https://tocsin.example/twilio/voice/public/dialed?a=x"`) || !strings.Contains(doc, `method="POST"`) ||
		!strings.HasSuffix(doc, "</Dial></Response>") {
		t.Errorf("TwiML with a dial action:\n%s", doc)
	}
	for answered, want := range map[bool]string{true: "<Response><Hangup/></Response>", false: "Tous nos opérateurs sont occupés"} {
		doc, err := PublicDialedTwiML(answered, "")
		if err != nil || !strings.Contains(doc, want) {
			t.Errorf("PublicDialedTwiML(%t) = %s, %v; want %q", answered, doc, err, want)
		}
	}
}

// A caller put through waits in the queue: the Enqueue names it and
// points to the wait URL and the action; the wait document says the
// caller's place, the hold message and a pause; an operator who picks up
// dials the queue.
func TestPublicQueueTwiML(t *testing.T) {
	doc, err := PublicLineTwiML(PublicLine{Open: true, Message: "Évitez les berges.", Numbers: []string{"+33639981001"},
		Queue: "cip-a1", WaitURL: "https://tocsin.example/wait?a=a1", LeftURL: "https://tocsin.example/left?a=a1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`waitUrl="https://tocsin.example/wait?a=a1"`, `action="https://tocsin.example/left?a=a1"`, ">cip-a1</Enqueue></Response>", "Évitez les berges."} {
		if !strings.Contains(doc, s) {
			t.Errorf("line with a queue lacks %q:\n%s", s, doc)
		}
	}
	if strings.Contains(doc, "<Dial") {
		t.Errorf("a queued caller rings the operators at once:\n%s", doc)
	}
	for pos, want := range map[int]string{1: "Vous êtes la 1re personne en attente.", 3: "Vous êtes la 3e personne en attente.", 12: "Vous êtes la 12e personne en attente."} {
		doc, err := PublicWaitTwiML(pos, true, "")
		if err != nil || !strings.Contains(doc, want) || !strings.Contains(doc, "<Pause") {
			t.Errorf("wait document for place %d: %v\n%s", pos, err, doc)
		}
	}
	if doc, _ := PublicWaitTwiML(2, false, ""); !strings.Contains(doc, "<Leave></Leave>") && !strings.Contains(doc, "<Leave/>") {
		t.Errorf("a caller sent away does not leave the queue:\n%s", doc)
	}
	if doc, _ := PublicLeftTwiML("leave", false, ""); !strings.Contains(doc, "occupés") {
		t.Errorf("a caller sent away hears:\n%s", doc)
	}
	if doc, _ := PublicLeftTwiML("leave", true, ""); !strings.Contains(doc, "est fermée") {
		t.Errorf("a caller sent away as the CIP closes hears:\n%s", doc)
	}
	doc, err = OperatorQueueTwiML("cip-a1", "")
	if err != nil || !strings.Contains(doc, "<Queue>cip-a1</Queue></Dial>") {
		t.Errorf("operator's document: %v\n%s", err, doc)
	}
	if _, err := OperatorQueueTwiML(strings.Repeat("x", 65), ""); err == nil {
		t.Error("a queue name over 64 characters is taken")
	}
}

// Whatever place Twilio tells and whatever the queue is named, the
// queue's documents are well-formed XML, or refused.
func FuzzQueueTwiML(f *testing.F) {
	f.Add(3, "cip-20261128-020000-687a")
	f.Add(-1, "<&>\"'")
	f.Add(1<<30, "")
	f.Fuzz(func(t *testing.T, position int, queue string) {
		docs := []string{}
		if doc, err := PublicWaitTwiML(position, true, ""); err == nil {
			docs = append(docs, doc)
		} else {
			t.Fatalf("wait document for place %d: %v", position, err)
		}
		if doc, err := OperatorQueueTwiML(queue, ""); err == nil {
			docs = append(docs, doc)
		}
		for _, doc := range docs {
			if err := xml.Unmarshal([]byte(doc), new(struct{})); err != nil {
				t.Fatalf("not XML (%v):\n%s", err, doc)
			}
		}
	})
}
