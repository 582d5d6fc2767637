package twiliosim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxTwiMLSize is the largest TwiML document Twilio reads.
const maxTwiMLSize = 64 << 10

// verb is one TwiML verb as the simulator plays it: its name, attributes
// and text (a <Say>'s words, a <Redirect>'s URL), and for a <Gather> the
// verbs nested in it, for a <Dial> its <Number> nouns. Anything else
// nested is dropped, except the text of SSML tags inside a <Say>, which
// counts as said.
type verb struct {
	name     string
	attrs    map[string]string
	text     string
	children []verb
}

// parseTwiML reads a TwiML document: a <Response> root holding verbs.
// Malformed XML, another root or no root at all are errors.
func parseTwiML(data []byte) ([]verb, error) {
	if len(data) > maxTwiMLSize {
		return nil, fmt.Errorf("document larger than %d KiB", maxTwiMLSize>>10)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var (
		verbs      []verb
		depth      int
		roots      int
		cur, child *verb // the top-level verb being read, and the verb nested in a <Gather>
		curText    strings.Builder
		childText  strings.Builder
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1:
				roots++
				if t.Name.Local != "Response" {
					return nil, fmt.Errorf("root element is <%s>, not <Response>", t.Name.Local)
				}
				if roots > 1 {
					return nil, errors.New("more than one <Response>")
				}
			case depth == 2:
				verbs = append(verbs, verb{name: t.Name.Local, attrs: attrMap(t.Attr)})
				cur = &verbs[len(verbs)-1]
				curText.Reset()
			case depth == 3 && (cur.name == "Gather" || cur.name == "Dial"):
				cur.children = append(cur.children, verb{name: t.Name.Local, attrs: attrMap(t.Attr)})
				child = &cur.children[len(cur.children)-1]
				childText.Reset()
			}
		case xml.EndElement:
			switch {
			case depth == 3 && child != nil:
				child.text = normalizeSpace(childText.String())
				child = nil
			case depth == 2:
				cur.text = normalizeSpace(curText.String())
				cur = nil
			}
			depth--
		case xml.CharData:
			switch {
			case child != nil:
				childText.Write(t)
			case cur != nil:
				curText.Write(t)
			}
		}
	}
	if roots == 0 {
		return nil, errors.New("no <Response> element")
	}
	return verbs, nil
}

func attrMap(attrs []xml.Attr) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m[a.Name.Local] = a.Value
	}
	return m
}

// normalizeSpace collapses runs of white space, as a voice reads them.
func normalizeSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (v *verb) attr(name string) string { return v.attrs[name] }

// intAttr reads a whole-number attribute, def when absent or unreadable.
func (v *verb) intAttr(name string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(v.attrs[name]))
	if err != nil || n < 0 {
		return def
	}
	return n
}

// method reads a method attribute: GET, or POST for anything else.
func (v *verb) method() string {
	if strings.EqualFold(strings.TrimSpace(v.attrs["method"]), "GET") {
		return "GET"
	}
	return "POST"
}

// Voice timings.
const (
	// charsPerSecond is how fast a text-to-speech voice reads: about 150
	// words a minute.
	charsPerSecond = 15
	// maxSayLoops is how many times a <Say loop="0"> repeats.
	maxSayLoops = 1000
	// maxPause bounds a <Pause length>.
	maxPause = 3600
)

// speakingTime is how long reading text aloud takes.
func speakingTime(text string) time.Duration {
	return time.Duration(utf8.RuneCountInString(text)) * time.Second / charsPerSecond
}

// sayLoops is how many times a <Say> is read: loop, 1 by default, 0
// meaning "until the call ends" (maxSayLoops).
func (v *verb) sayLoops() int {
	switch n := v.intAttr("loop", 1); {
	case n == 0:
		return maxSayLoops
	default:
		return min(n, maxSayLoops)
	}
}

// pauseLength is a <Pause>'s length: 1 s by default.
func (v *verb) pauseLength() time.Duration {
	return time.Duration(min(v.intAttr("length", 1), maxPause)) * time.Second
}
